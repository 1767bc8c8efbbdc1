// Runs before every test file.
process.env.CPAAS_TEST = '1';
