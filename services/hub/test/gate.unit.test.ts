import { HandshakeGate } from "../src/upgrade/gate";

test("at most `limit` slots at once; the rest wait in arrival order; past maxWaiting, enter refuses", async () => {
  const gate = new HandshakeGate(2, 2);
  const order: string[] = [];
  const a = await gate.enter()!;
  const b = await gate.enter()!;
  const c = gate.enter()!.then((release) => (order.push("c"), release));
  const d = gate.enter()!.then((release) => (order.push("d"), release));
  expect(gate.enter()).toBeNull();
  expect(gate.stats).toEqual({ active: 2, waiting: 2 });
  a();
  a(); // a second release of the same slot changes nothing
  const releaseC = await c;
  expect(order).toEqual(["c"]);
  expect(gate.stats).toEqual({ active: 2, waiting: 1 });
  b();
  const releaseD = await d;
  expect(order).toEqual(["c", "d"]);
  releaseC();
  releaseD();
  expect(gate.stats).toEqual({ active: 0, waiting: 0 });
  const e = await gate.enter()!;
  expect(gate.stats).toEqual({ active: 1, waiting: 0 });
  e();
});
