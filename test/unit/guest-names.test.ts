// Finding 1 of issue 19: a guest name virsh or xl could read as a domain ID or UUID (or Xen's dom0) would address
// another domain. Such names are refused at check (preview) for kvm and xen, naming the property and the pattern,
// before any SSH command; the KVM driver refuses them too.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as guest from "../../provider/resources/impl/guest";
import { validateGuestName } from "../../provider/drivers/kvm";
import { validateDomainName } from "../../provider/drivers/xen";
import { answerHostReadsLocally, hypervisorRef, NO_SSH, sshActivity } from "./plan-fixtures";

answerHostReadsLocally();

const FULL = { virtualization: "full", vcpus: 1, memory: 256, boot: { kernel: "/boot/vmlinuz" }, rootDisk: { baseImage: "/var/lib/base.qcow2" } };
const PARA = { virtualization: "para", vcpus: 1, memory: 256, boot: { kernel: "/boot/vmlinuz" } };

const ADDRESSING = ["1", "42", "0", "007", "4f1c0d9e-2b7a-4c8e-9a1b-2c3d4e5f6071", "4f1c0d9e2b7a4c8e9a1b2c3d4e5f6071", "4F1C0D9E-2B7A-4C8E-9A1B-2C3D4E5F6071"];

test("guest names read as an ID or UUID are refused at check for kvm and xen, naming name and the allowed pattern", async () => {
  for (const [kind, base] of [["kvm", FULL], ["xen", PARA]] as const) {
    for (const name of [...ADDRESSING, ...(kind === "xen" ? ["Domain-0", "domain-0"] : [])]) {
      const r = await guest.check({}, { ...base, name, hypervisor: hypervisorRef(kind) });
      const f = r.failures.find((x) => x.property === "name");
      assert.ok(f, `${kind}: name ${JSON.stringify(name)} must be refused at check, got ${JSON.stringify(r.failures)}`);
      assert.match(f.reason, /not all digits, not a UUID and not "Domain-0"/);
    }
  }
  assert.deepEqual(sshActivity(), NO_SSH);
});

test("ordinary guest names still pass check (digits inside, hex that is not a UUID)", async () => {
  for (const name of ["web-1", "vm42", "1a", "deadbeef", "4f1c0d9e-2b7a-4c8e-9a1b"]) {
    const r = await guest.check({}, { ...FULL, name, hypervisor: hypervisorRef("kvm") });
    assert.deepEqual(r.failures, [], name);
  }
});

test("the KVM driver refuses ID- and UUID-shaped names too (a guard behind check)", () => {
  for (const name of ADDRESSING) assert.throws(() => validateGuestName(name), /domain ID or UUID/, name);
  assert.doesNotThrow(() => validateGuestName("web-1"));
  for (const name of ["1", "42", "Domain-0"]) assert.throws(() => validateDomainName(name), /invalid Xen domain name/, name);
});
