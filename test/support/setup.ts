// Runs before every test file.
process.env.CPAAS_TEST = '1';
// The pinned AWS SDK warns that releases after January 2027 need Node 22 (see README); not news in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
