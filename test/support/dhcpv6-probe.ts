// A minimal DHCPv6 client for tests (the test guest's busybox has none): one Solicit with Rapid Commit from an
// interface, printing the address the server committed. Run inside a lab host's namespaces:
//   node dhcpv6-probe.js IFACE MAC TIMEOUT_MS
// Exit 0 with the address on stdout; exit 1 with what was wrong on stderr.
import * as dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { networkInterfaces } from "node:os";

const [iface, mac, timeoutArg] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg) || 10_000;

function option(code: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function solicit(xid: Buffer): Buffer {
  // Client identifier: a DUID-LL (type 3, hardware type 1 = Ethernet) from the MAC.
  const duid = Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(mac.split(":").map((h) => parseInt(h, 16)))]);
  const iaNa = Buffer.alloc(12); // IAID 1, T1 and T2 left to the server
  iaNa.writeUInt32BE(1, 0);
  return Buffer.concat([
    Buffer.from([1]), xid, // SOLICIT
    option(1, duid),
    option(3, iaNa),
    option(8, Buffer.alloc(2)), // elapsed time 0
    option(14, Buffer.alloc(0)), // rapid commit: the server answers with a Reply and records the lease
  ]);
}

/** Options of a message (or of an IA_NA's body) as [code, body] pairs. */
function options(buf: Buffer): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (let i = 0; i + 4 <= buf.length; ) {
    const code = buf.readUInt16BE(i);
    const len = buf.readUInt16BE(i + 2);
    out.push([code, buf.subarray(i + 4, i + 4 + len)]);
    i += 4 + len;
  }
  return out;
}

function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(":");
}

const linkLocal = (networkInterfaces()[iface] ?? []).find((a) => a.family === "IPv6" && a.address.startsWith("fe80:"));
if (!linkLocal) {
  process.stderr.write(`no link-local IPv6 address on ${iface}\n`);
  process.exit(1);
}
const xid = randomBytes(3);
const sock = dgram.createSocket({ type: "udp6", reuseAddr: true });
const timer = setTimeout(() => {
  process.stderr.write(`no DHCPv6 reply on ${iface} within ${timeoutMs} ms\n`);
  process.exit(1);
}, timeoutMs);
sock.on("message", (msg) => {
  if (msg.length < 4 || msg[0] !== 7 || !msg.subarray(1, 4).equals(xid)) return; // only the REPLY to this Solicit
  for (const [code, body] of options(msg.subarray(4))) {
    if (code !== 3) continue;
    for (const [sub, v] of options(body.subarray(12))) {
      if (sub === 5) {
        clearTimeout(timer);
        process.stdout.write(`${ipv6Text(v.subarray(0, 16))}\n`);
        process.exit(0);
      }
      if (sub === 13) {
        process.stderr.write(`the server refused: status ${v.readUInt16BE(0)} ${v.subarray(2).toString()}\n`);
        process.exit(1);
      }
    }
  }
});
sock.bind({ port: 546, address: `${linkLocal.address}%${iface}` }, () => {
  sock.send(solicit(xid), 547, `ff02::1:2%${iface}`);
});
