// Issue 25 on a real lab host: the capacity read sees machines pulumi-virt did not make (a libvirt domain defined
// with virsh, an LXC container made with lxc-create and a memory limit in its config) with their sizes, and the
// storage filesystem, in ONE round trip (every kind's read-only script coalesced into one command).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { readHostAllocations } from "../../provider/drivers/host/allocations";
import { closeAllRemotes, getRemote } from "../../provider/ssh/remote";
import { SshPool } from "../../provider/ssh/pool";
import { ensureLab, onHost, onHostOk } from "../support/lab";

const tag = randomBytes(3).toString("hex");
const DOM = `pv-capdom-${tag}`;
const CT = `pv-capct-${tag}`;

test("capacity read: unmanaged libvirt domain and LXC container with their sizes, one round trip", async () => {
  const lab = await ensureLab();
  const h1 = lab.hosts.find((h) => h.name === "h1")!;
  assert.ok(h1.libvirt, "h1 runs its own libvirtd");
  const img = `/var/lib/libvirt/images/${DOM}.qcow2`;
  after(async () => {
    await onHost(h1, ["virsh", "-c", "qemu:///system", "undefine", DOM]);
    await onHost(h1, ["rm", "-f", img]);
    await onHost(h1, ["lxc-destroy", "-f", "-n", CT]);
    closeAllRemotes();
  });
  // Defined, never started: a stopped machine still holds its promise.
  await onHostOk(h1, ["mkdir", "-p", "/var/lib/libvirt/images"]);
  await onHostOk(h1, ["qemu-img", "create", "-q", "-f", "qcow2", img, "1G"]);
  const xml =
    `<domain type='qemu'><name>${DOM}</name><memory unit='MiB'>256</memory><currentMemory unit='MiB'>192</currentMemory>` +
    `<vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'>` +
    `<driver name='qemu' type='qcow2'/><source file='${img}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
  await onHostOk(h1, ["sh", "-c", 'printf "%s" "$1" > "/tmp/$2.xml" && virsh -c qemu:///system define "/tmp/$2.xml" && rm -f "/tmp/$2.xml"', "sh", xml, DOM]);
  await onHostOk(h1, ["lxc-create", "-n", CT, "-t", "busybox"]);
  const lxcpath = (await onHostOk(h1, ["lxc-config", "lxc.lxcpath"])).trim() || "/var/lib/lxc";
  await onHostOk(h1, ["sh", "-c", 'printf "lxc.cgroup.memory.limit_in_bytes = 300M\\nlxc.cgroup.cpuset.cpus = 0-1\\n" >> "$1"', "sh", `${lxcpath}/${CT}/config`]);

  const remote = getRemote({ host: h1.address, port: h1.port, user: h1.user, privateKey: readFileSync(h1.privateKeyPath, "utf8"), hostKey: h1.hostKey });
  await remote.exec(["true"]);
  const before = SshPool.shared().stats().global.commands;
  const host = await readHostAllocations(remote, { cpus: 2, memoryMiB: 1000 }, ["/var/lib/libvirt/images"]);
  assert.equal(SshPool.shared().stats().global.commands - before, 1, "one round trip for every kind and the storage");

  const dom = host.machines.find((m) => m.kind === "kvm" && m.name === DOM);
  assert.deepEqual(dom && { cpus: dom.cpus, memoryMiB: dom.memoryMiB, managed: dom.managed, disks: dom.disks.map((d) => d.sizeMiB) }, { cpus: 2, memoryMiB: 192, managed: false, disks: [1024] });
  const ct = host.machines.find((m) => m.kind === "lxc" && m.name === CT);
  assert.deepEqual(ct && { cpus: ct.cpus, memoryMiB: ct.memoryMiB, managed: ct.managed }, { cpus: 2, memoryMiB: 300, managed: false });
  const fs = host.storage["/var/lib/libvirt/images"];
  assert.ok(fs && fs.sizeMiB > 0, "the storage directory's filesystem has a size");
  assert.equal(dom!.disks[0].device, fs.device, "the domain's disk is on that filesystem");
  assert.deepEqual(host.capacity, { cpus: 2, memoryMiB: 1000 }, "not a dom0: capacity is the Host's facts");
});
