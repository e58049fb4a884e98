// The lab's HTTP image server (started by lab/image-server.sh, never by hand): serves the files of one directory
// to the lab hosts, with byte ranges (so a host's interrupted download can resume), and logs every request as one
// JSON line, so tests count downloads and see Range headers.
//   node image-server.js WWW_DIR STATE_DIR ADDRESS PORT
// Test controls, files in STATE_DIR read on each request:
//   cut-next   holds a byte count N: the next GET of a file sends N bytes of its body, then drops the connection
//              (the file is removed first, so only one download is cut).
//   slow-next  holds a rate in bytes per second: the next GET of a file is sent at that rate (one-shot), so a
//              test sees a download in progress.
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

const [wwwDir, stateDir, address, portText] = process.argv.slice(2);
if (!wwwDir || !stateDir || !address || !portText) {
  console.error("usage: node image-server.js WWW_DIR STATE_DIR ADDRESS PORT");
  process.exit(2);
}
const logFile = path.join(stateDir, "requests.log");
const cutFile = path.join(stateDir, "cut-next");
const slowFile = path.join(stateDir, "slow-next");

function record(entry) {
  fs.appendFileSync(logFile, JSON.stringify({ time: new Date().toISOString(), ...entry }) + "\n");
}

/** One-shot: the number in a control file (the byte count to cut the next download at, a rate), or undefined. */
function takeControl(controlFile) {
  let text;
  try {
    text = fs.readFileSync(controlFile, "utf8");
    fs.unlinkSync(controlFile);
  } catch {
    return undefined;
  }
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** [start, end] (inclusive) of a single "bytes=" range, null when absent, "bad" when unsatisfiable. */
function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "bad";
  let start, end;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? "bad" : [start, end];
}

const server = http.createServer((req, res) => {
  const entry = { method: req.method, path: req.url, range: req.headers.range ?? null, client: req.socket.remoteAddress };
  const name = decodeURIComponent((req.url ?? "/").split("?")[0]).replace(/^\/+/, "");
  const file = path.join(wwwDir, name);
  let st;
  if (!name || name.includes("..") || name.includes("/") || !(st = statFile(file))) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return record({ ...entry, status: 404, bytes: 0 });
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405).end();
    return record({ ...entry, status: 405, bytes: 0 });
  }
  const range = parseRange(req.headers.range, st.size);
  if (range === "bad") {
    res.writeHead(416, { "content-range": `bytes */${st.size}` }).end();
    return record({ ...entry, status: 416, bytes: 0 });
  }
  const [start, end] = range ?? [0, st.size - 1];
  const length = st.size === 0 ? 0 : end - start + 1;
  const headers = { "content-length": String(length), "accept-ranges": "bytes", "content-type": "application/octet-stream" };
  if (range) headers["content-range"] = `bytes ${start}-${end}/${st.size}`;
  const status = range ? 206 : 200;
  res.writeHead(status, headers);
  if (req.method === "HEAD" || length === 0) {
    res.end();
    return record({ ...entry, status, bytes: 0 });
  }
  // The checksum list is the health check's file: never cut.
  const cut = name === "SHA256SUMS" ? undefined : takeControl(cutFile);
  const rate = name === "SHA256SUMS" ? undefined : takeControl(slowFile);
  const last = cut !== undefined ? Math.min(end, start + cut - 1) : end;
  let sent = 0;
  const stream = fs.createReadStream(file, { start, end: last, highWaterMark: 16384 });
  stream.on("data", (chunk) => (sent += chunk.length));
  stream.on("error", () => res.destroy());
  stream.on("end", () => {
    if (cut !== undefined && last < end) {
      // Let the bytes already written drain, then drop the connection mid-body.
      res.socket?.end(() => res.destroy());
      record({ ...entry, status, bytes: sent, cut: true });
    } else {
      record({ ...entry, status, bytes: sent });
    }
  });
  if (rate) {
    // Paced: 16 KiB chunks at the asked rate.
    stream.on("data", (chunk) => {
      stream.pause();
      res.write(chunk);
      setTimeout(() => stream.resume(), Math.ceil((chunk.length * 1000) / rate));
    });
    stream.on("end", () => (cut === undefined || last >= end) && res.end());
    return;
  }
  stream.pipe(res, { end: cut === undefined || last >= end });
});

function statFile(file) {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

server.listen(Number(portText), address, () => {
  fs.writeFileSync(path.join(stateDir, "server.pid"), String(process.pid));
  console.error(`image server: http://${address}:${portText}/ serving ${wwwDir}`);
});
// Log lines are written synchronously: nothing to flush, and open (or cut) connections must not keep it alive.
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
