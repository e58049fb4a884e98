// The lab guests' PVDISKS lines (hot-plug tests read them while the console log is being written).
import { test } from "node:test";
import assert from "node:assert/strict";
import { bySerial, lastPvdisks, parsePvdisks } from "../support/pvdisks";

const STAT = "PVSTAT boot=0a1b2c3d uptime=7 memtotal_kb=250000 cpus_online=1 vda_bytes=1 vdb_bytes=0 root_marker= marker= machine_id=none";

test("a disk line parses into devices with size, serial and marker", () => {
  assert.deepEqual(parsePvdisks("PVDISKS vda=100663296::base-a vdc=50331648:pv-extra:"), {
    vda: { bytes: 100663296, serial: "", marker: "base-a" },
    vdc: { bytes: 50331648, serial: "pv-extra", marker: "" },
  });
  assert.deepEqual(parsePvdisks("PVDISKS"), {}, "a guest with no disks");
  assert.equal(parsePvdisks("PVDISKS vda=12"), undefined, "a cut word is not a disk");
  assert.equal(parsePvdisks(STAT), undefined, "a status line is not a disk line");
});

test("only a line a PVSTAT line follows counts (the last one may still be written)", () => {
  const a = "PVDISKS vda=1::";
  const b = "PVDISKS vda=1:: vdb=2:pv-x:";
  assert.equal(Object.keys(lastPvdisks(`${a}\n${STAT}\n${b}\n`) ?? {}).length, 1);
  assert.equal(Object.keys(lastPvdisks(`${a}\r\n${STAT}\r\n${b}\r\n${STAT}\r\n`) ?? {}).length, 2);
  assert.equal(bySerial(lastPvdisks(`${b}\n${STAT}\n`)!, "pv-x")?.bytes, 2);
  assert.equal(lastPvdisks(`${b}`), undefined);
});
