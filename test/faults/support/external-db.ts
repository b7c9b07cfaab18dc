/**
 * Fault tests that stop and restart their own FerretDB cannot do that to an external server: with
 * MONGODB_URI set they are skipped, visibly (a console warning and the reason in the test name).
 */
export function ownDatabaseTest(name: string): { maybe: jest.It; prefix: string } {
  const external = Boolean(process.env.MONGODB_URI);
  if (external) console.warn(`${name}: skipped because MONGODB_URI points at an external server this test cannot stop`);
  return { maybe: external ? test.skip : test, prefix: external ? '(skipped: MONGODB_URI is external) ' : '' };
}
