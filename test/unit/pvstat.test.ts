// The lab tests read guests' status from console logs that are still being written; only complete lines count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { lastPvstat, parsePvstat } from "../support/pvstat";

const full = (boot: string, up: number, root = "base-b", marker = "data-1a2b") =>
  `PVSTAT boot=${boot} uptime=${up} memtotal_kb=250000 cpus_online=1 vda_bytes=100663296 vdb_bytes=33554432 root_marker=${root} marker=${marker} machine_id=none`;

test("a complete line parses into its fields", () => {
  assert.deepEqual(parsePvstat(full("0a1b2c3d", 7)), {
    boot: "0a1b2c3d",
    uptime: "7",
    memtotal_kb: "250000",
    cpus_online: "1",
    vda_bytes: "100663296",
    vdb_bytes: "33554432",
    root_marker: "base-b",
    marker: "data-1a2b",
    machine_id: "none",
  });
  assert.equal(parsePvstat(full("0a1b2c3d", 7, "", ""))?.marker, "", "an absent marker is an empty value");
});

test("the half-written last line is ignored: the newest complete line wins", () => {
  const line = full("0a1b2c3d", 9);
  for (let cut = 1; cut < line.length; cut++) {
    const text = `${full("0a1b2c3d", 8)}\n${line.slice(0, cut)}`;
    assert.equal(lastPvstat(text)?.uptime, "8", `cut at ${cut}: ${line.slice(0, cut)}`);
  }
  assert.equal(lastPvstat(`${full("0a1b2c3d", 8)}\r\n${line}\r\n`)?.uptime, "9");
});

test("a line split by a kernel message, or cut short, is not a status line", () => {
  const line = full("0a1b2c3d", 9);
  const text = `${full("ffffffff", 3)}\n${line.slice(0, 40)}[   12.345678] virtio_balloon virtio2: ok\n${line.slice(40)}\n`;
  assert.equal(lastPvstat(text)?.boot, "ffffffff");
  assert.equal(parsePvstat("PVSTAT boot=0a1b2c3d uptime=1"), undefined);
  assert.equal(parsePvstat(line.replace("uptime=9", "uptime=")), undefined);
  assert.equal(lastPvstat("booting…\n"), undefined);
});
