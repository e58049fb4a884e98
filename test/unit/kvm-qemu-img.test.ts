// Finding 6 of issue 19 (qemu-img): `qemu-img info --output=json` is parsed as JSON; the image's own format and
// size are read whatever the key order (QEMU >= 8 prints "children", with their own format and size, first).
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQemuImgInfo } from "../../provider/drivers/kvm";

// Shape and order of QEMU 8.2's output for a qcow2 overlay (children before the image's own keys).
const QEMU8 = `{
    "children": [
        {
            "name": "file",
            "info": {
                "children": [],
                "virtual-size": 197120,
                "filename": "/var/lib/x/root.qcow2",
                "format": "file",
                "actual-size": 200704,
                "format-specific": { "type": "file", "data": {} },
                "dirty-flag": false
            }
        }
    ],
    "backing-filename-format": "raw",
    "virtual-size": 67108864,
    "filename": "/var/lib/x/root.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 200704,
    "dirty-flag": false
}`;

const QEMU7 = `{
    "virtual-size": 100663296,
    "filename": "/var/lib/x/base.raw",
    "format": "raw",
    "actual-size": 4096,
    "dirty-flag": false
}`;

test("qemu-img info JSON: the image's own format and size, whatever the key order", () => {
  assert.deepEqual(parseQemuImgInfo(QEMU8, "root"), { format: "qcow2", virtualSize: 67108864 });
  assert.deepEqual(parseQemuImgInfo(QEMU7, "base"), { format: "raw", virtualSize: 100663296 });
  // The same object with its keys in any order.
  const o = JSON.parse(QEMU8) as Record<string, unknown>;
  const reversed = JSON.stringify(Object.fromEntries(Object.entries(o).reverse()));
  assert.deepEqual(parseQemuImgInfo(reversed, "root"), { format: "qcow2", virtualSize: 67108864 });
});

test("qemu-img info that is not JSON, or lacks format or size, is an error naming the image", () => {
  assert.throws(() => parseQemuImgInfo("qemu-img: Could not open", "/b.qcow2"), /qemu-img info of \/b\.qcow2 did not print JSON/);
  assert.throws(() => parseQemuImgInfo(`{"format": "qcow2"}`, "/b.qcow2"), /no format or virtual-size/);
  assert.throws(() => parseQemuImgInfo(`{"format": "q; rm", "virtual-size": 1}`, "/b.qcow2"), /no format or virtual-size/);
});
