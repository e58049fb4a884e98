// Pure parts of the Xen driver: config rendering and its validation, output parsing, capabilities.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  InvalidXenSpecError,
  XenDomainSpec,
  parseKernelProbe,
  parseReadOutput,
  parseStateFlags,
  parseUptime,
  parseVerifyOutput,
  renderXlConfig,
  xenCapabilities,
} from "../../provider/drivers/xen";

function spec(over: Partial<XenDomainSpec> = {}): XenDomainSpec {
  return {
    name: "web1",
    vcpus: 1,
    maxVcpus: 2,
    memoryMiB: 128,
    maxMemoryMiB: 256,
    boot: { kind: "kernel", kernel: "/boot/vmlinuz", ramdisk: "/boot/initrd.img", extra: "console=hvc0 root=/dev/xvda ro,x" },
    disks: [{ path: "/var/lib/xen/images/web1.img", vdev: "xvda", sizeMiB: 64 }],
    network: { bridge: "xenbr0", mac: "00:16:3E:00:00:01" },
    running: true,
    shutdownTimeoutSec: 30,
    configDir: "/etc/xen/pulumi-virt",
    ...over,
  };
}

/** Minimal reader of the xl config subset renderXlConfig writes: key = number | "string" | [ "a", "b" ]. */
function parseXl(text: string): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const m = /^([a-z_]+) = (.*)$/.exec(line);
    assert.ok(m, `unparsable line ${JSON.stringify(line)}`);
    const v = m[2];
    if (/^\d+$/.test(v)) out[m[1]] = Number(v);
    else if (/^"[^"]*"$/.test(v)) out[m[1]] = v.slice(1, -1);
    else {
      assert.match(v, /^\[ (?:"[^"]*"(?:, "[^"]*")*)? ?\]$/, `bad list ${v}`);
      out[m[1]] = [...v.matchAll(/"([^"]*)"/g)].map((x) => x[1]);
    }
  }
  return out;
}

test("renderXlConfig writes a PV config with every value in place", () => {
  const cfg = parseXl(renderXlConfig(spec()));
  assert.equal(cfg.type, "pv");
  assert.equal(cfg.name, "web1");
  assert.equal(cfg.memory, 128);
  assert.equal(cfg.maxmem, 256);
  assert.equal(cfg.vcpus, 1);
  assert.equal(cfg.maxvcpus, 2);
  assert.equal(cfg.kernel, "/boot/vmlinuz");
  assert.equal(cfg.ramdisk, "/boot/initrd.img");
  assert.equal(cfg.extra, "console=hvc0 root=/dev/xvda ro,x");
  assert.deepEqual(cfg.disk, ["format=raw, vdev=xvda, access=rw, target=/var/lib/xen/images/web1.img"]);
  assert.deepEqual(cfg.vif, ["bridge=xenbr0,mac=00:16:3e:00:00:01"]);
  assert.equal(cfg.on_poweroff, "destroy");
});

test("renderXlConfig: bootloader, no network, no disks", () => {
  const a = parseXl(renderXlConfig(spec({ network: undefined, disks: [], boot: { kind: "kernel", kernel: "/k" } })));
  assert.deepEqual(a.vif, []);
  assert.deepEqual(a.disk, []);
  assert.equal(a.ramdisk, undefined);
  const b = parseXl(renderXlConfig(spec({ boot: { kind: "bootloader", bootloader: "pygrub" } })));
  assert.equal(b.bootloader, "pygrub");
  assert.equal(b.kernel, undefined);
});

test("renderXlConfig refuses values that could break the config syntax, with a clear error", () => {
  const bad: Partial<XenDomainSpec>[] = [
    { name: 'a"b' },
    { name: "a\nb" },
    { name: "123" }, // xl would read it as a domid
    { name: "Domain-0" },
    { name: "" },
    { boot: { kind: "kernel", kernel: '/k"; bootloader = "evil' } },
    { boot: { kind: "kernel", kernel: "relative/path" } },
    { boot: { kind: "kernel", kernel: "/k", ramdisk: "/a b" } },
    { boot: { kind: "kernel", kernel: "/k", extra: 'console=hvc0"\nmemory = 99999' } },
    { boot: { kind: "kernel", kernel: "/k", extra: "a\\b" } },
    { disks: [{ path: "/img,vdev=xvdz", vdev: "xvda" }] },
    { disks: [{ path: "/img'", vdev: "xvda" }] },
    { disks: [{ path: "/a/../etc/shadow", vdev: "xvda" }] },
    { disks: [{ path: "/img", vdev: "xvda, target=/etc" }] },
    { disks: [{ path: "/a", vdev: "xvda" }, { path: "/b", vdev: "xvda" }] },
    { network: { bridge: "br0,script=/tmp/x" } },
    { network: { bridge: "br0", mac: "01:00:5e:00:00:01" } }, // multicast
    { memoryMiB: 512, maxMemoryMiB: 256 },
    { vcpus: 3, maxVcpus: 2 },
    { vcpus: 1.5 },
    { configDir: "/etc/xen/a b" },
  ];
  for (const over of bad) {
    assert.throws(() => renderXlConfig(spec(over)), InvalidXenSpecError, JSON.stringify(over));
  }
});

test("property: any accepted extra/path stays one quoted value on one line", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (extra, tail) => {
      let text: string;
      try {
        text = renderXlConfig(spec({ boot: { kind: "kernel", kernel: "/k/" + tail, extra } }));
      } catch (e) {
        assert.ok(e instanceof InvalidXenSpecError);
        return;
      }
      const cfg = parseXl(text);
      assert.equal(cfg.extra, extra);
      assert.equal(cfg.kernel, "/k/" + tail);
      assert.equal(cfg.name, "web1");
      assert.equal(cfg.memory, 128);
    }),
    { numRuns: 500 },
  );
});

test("capabilities: memory and vCPUs live up to their maxima, ceilings and boot need a restart, shrink of disks destroys data", () => {
  assert.equal(xenCapabilities.memoryMiB.grow?.action, "live");
  assert.equal(xenCapabilities.memoryMiB.shrink?.action, "live");
  assert.equal(xenCapabilities.memoryMiB.liveUpTo, "maxMemoryMiB");
  assert.equal(xenCapabilities.memoryMiB.beyondLimit?.action, "restart");
  assert.equal(xenCapabilities.vcpus.grow?.action, "live");
  assert.equal(xenCapabilities.vcpus.shrink?.action, "live");
  assert.equal(xenCapabilities.vcpus.liveUpTo, "maxVcpus");
  assert.equal(xenCapabilities.maxMemoryMiB.change?.action, "restart");
  assert.equal(xenCapabilities.maxVcpus.change?.action, "restart");
  assert.equal(xenCapabilities.boot.change?.action, "restart");
  assert.equal(xenCapabilities.network.change?.action, "restart");
  assert.equal(xenCapabilities.name.change?.action, "live");
  const shrink = xenCapabilities.rootDiskSizeMiB.shrink;
  assert.ok(shrink?.action === "replace" && shrink.destroysData === true);
});

test("parseReadOutput: running domain", () => {
  const out = [
    "@@config",
    'name = "t1"',
    "@@list",
    "Name                                        ID   Mem VCPUs\tState\tTime(s)",
    "t1                                           7   200     2     -b----      31.5",
    "@@long",
    JSON.stringify([
      {
        domid: 7,
        config: {
          c_info: { type: "pv", name: "t1" },
          b_info: { max_vcpus: 2, avail_vcpus: [0, 1], max_memkb: 262144, target_memkb: 204800, kernel: "/k", ramdisk: "/r", cmdline: "console=hvc0", "type.pv": {} },
        },
      },
    ]),
    "@@uptime",
    "Name                                ID Uptime",
    "t1                                   7  1 day,  0:02:08",
    "",
  ].join("\n");
  const o = parseReadOutput("t1", out);
  assert.equal(o.exists, true);
  assert.equal(o.domid, 7);
  assert.equal(o.state, "blocked");
  assert.equal(o.memoryMiB, 200);
  assert.equal(o.actualMemoryMiB, 200);
  assert.equal(o.maxMemoryMiB, 256);
  assert.equal(o.vcpus, 2);
  assert.equal(o.maxVcpus, 2);
  assert.equal(o.uptimeSec, 86400 + 128);
  assert.equal(o.kernel, "/k");
  assert.equal(o.extra, "console=hvc0");
  assert.equal(o.configPresent, true);
});

test("parseReadOutput: absent domain, with and without config; xl errors are not 'absent'", () => {
  assert.deepEqual(parseReadOutput("x", "@@absent\n"), { name: "x", exists: false, state: "absent", configPresent: false });
  const o = parseReadOutput("x", '@@config\nname = "x"\n@@absent\n');
  assert.equal(o.exists, false);
  assert.equal(o.configPresent, true);
  assert.throws(() => parseReadOutput("x", "@@error\nxenstore: cannot connect\n"), /cannot connect/);
});

test("parseStateFlags and parseUptime", () => {
  assert.equal(parseStateFlags("r-----"), "running");
  assert.equal(parseStateFlags("-b----"), "blocked");
  assert.equal(parseStateFlags("--p---"), "paused");
  assert.equal(parseStateFlags("---s--"), "shutdown");
  assert.equal(parseStateFlags("----c-"), "crashed");
  assert.equal(parseUptime("t 2  0:02:08"), 128);
  assert.equal(parseUptime("t 2  3 days, 1:00:00"), 3 * 86400 + 3600);
  assert.equal(parseUptime("garbage"), undefined);
});

test("parseVerifyOutput: dom0 and not dom0", () => {
  const dom0 = parseVerifyOutput(
    "@@caps\ncontrol_d\n@@info\nhost : xen1\nnr_cpus : 2\nvirt_caps : pv hvm hap\ntotal_memory : 1535\nfree_memory : 1004\nxen_major : 4\nxen_minor : 17\nxen_extra : .3\n@@rc\n0\n",
  );
  assert.equal(dom0.dom0, true);
  assert.equal(dom0.xenVersion, "4.17.3");
  assert.equal(dom0.nrCpus, 2);
  assert.equal(dom0.totalMemoryMiB, 1535);
  assert.equal(dom0.freeMemoryMiB, 1004);
  assert.deepEqual(dom0.virtCaps, ["pv", "hvm", "hap"]);
  const plain = parseVerifyOutput("@@caps\n@@info\nxencall: error: Could not obtain handle on privileged command interface\n@@rc\n1\n");
  assert.equal(plain.dom0, false);
  assert.match(plain.problem ?? "", /control_d/);
  const noXl = parseVerifyOutput("@@caps\n@@noxl\n");
  assert.equal(noXl.dom0, false);
  assert.match(noXl.problem ?? "", /xen-utils/);
});

test("parseKernelProbe verdicts", () => {
  assert.equal(parseKernelProbe("/k", "format=bzImage\ncompression=xz\nelf=yes\nnotes=1\n").capable, true);
  assert.equal(parseKernelProbe("/k", "format=bzImage\ncompression=xz\nelf=yes\nnotes=0\n").capable, false);
  assert.equal(parseKernelProbe("/k", "format=unknown\n").capable, false);
  assert.equal(parseKernelProbe("/k", "format=missing\n").capable, false);
  assert.equal(parseKernelProbe("/k", "format=bzImage\ncompression=xz\nelf=no\nnotes=0\n").capable, false);
  assert.throws(() => parseKernelProbe("/k", "format=bzImage\ncompression=zstd\nmissing=zstd\n"), /zstd/);
  // A probe that could not finish (a decompressor or grep killed short of memory on dom0) is an error to retry,
  // never the verdict "built without CONFIG_XEN_PV".
  assert.throws(
    () => parseKernelProbe("/k", "format=bzImage\ncompression=xz\nelf=no\nnotes=0\nerror=decompressing the kernel's payload gave 0 bytes of 65906612 (short of memory on the host?)\n"),
    /cannot inspect \/k on the host: decompressing .*\(try again\)/,
  );
});

test("parseReadOutput: xl warnings around the row (stderr is captured with it) do not hide the row", () => {
  const out = [
    "@@list",
    "libxl: warning: libxl_utils.c:123: something odd [",
    "Name                                        ID   Mem VCPUs\tState\tTime(s)",
    "t1                                           9   128     1     r-----       0.4",
    "]",
    "@@long",
    "[]",
    "",
  ].join("\n");
  const o = parseReadOutput("t1", out);
  assert.equal(o.domid, 9);
  assert.equal(o.vcpus, 1);
  assert.equal(o.state, "running");
  assert.throws(() => parseReadOutput("t2", out), /unexpected `xl list t2` output: .*libxl: warning/);
});
