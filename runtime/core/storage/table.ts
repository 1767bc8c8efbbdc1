import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/**
 * The single table. Every item's partition key starts with its tenant (`T#<tenantId>#…`), except the
 * tenant records themselves (`TENANT#<tenantId>`), so no query can cross tenants.
 *
 * | item            | pk                              | sk                 | gsi1pk / gsi1sk              |
 * |-----------------|---------------------------------|--------------------|------------------------------|
 * | tenant          | TENANT#<tid>                    | META               | TENANTS / <createdAt>#<tid>  |
 * | api key         | T#<tid>#APIKEY                  | <keyId>            |                              |
 * | room            | T#<tid>#ROOM                    | <roomId>           |                              |
 * | participant     | T#<tid>#ROOM#<rid>#PART         | <participantId>    | (expiresAt: heartbeat)       |
 * | chat message    | T#<tid>#ROOM#<rid>#MSG          | <seq, 12 digits>   |                              |
 * | room session    | T#<tid>#ROOM#<rid>#SES          | <participantId>    |                              |
 * | invite          | T#<tid>#ROOM#<rid>#INV          | <inviteId>         |                              |
 * | presence        | T#<tid>#PRES                    | <identity>         |                              |
 * | 1:1 call        | T#<tid>#CALL                    | <callId>           |                              |
 * | idempotency     | T#<tid>#IDEM                    | <key>              | (expiresAt: 24 h)            |
 *
 * `expiresAt` (epoch seconds) is the TTL attribute; TTL deletion is lazy, so every read filters it.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
  ttlAttribute: 'expiresAt',
} as const;

/** Creates the table when missing (local stand-in and tests; on AWS the CDK data stack owns it). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException) && (err as Error).name !== 'ResourceNotFoundException') throw err;
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'gsi1pk', AttributeType: 'S' },
        { AttributeName: 'gsi1sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await waitUntilTableExists({ client, minDelay: 1, maxDelay: 2, maxWaitTime: 30 }, { TableName: tableName });
}
