describe('math', () => {
  test('adds', () => { expect(1 + 1).toBe(2); });
  test('fails', () => { expect(1 + 1).toBe(3); });
  test.skip('skipped', () => {});
  test('throws', () => { throw new Error('boom <&>'); });
});
