import { createHash } from "node:crypto";
import { z } from "zod";
import { count, hostPath, safeText } from "./common";

export const IMAGE_FORMATS = ["qcow2", "raw", "rootfs"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];
export const IMAGE_COMPRESSIONS = ["none", "xz", "gz", "zst"] as const;
export type ImageCompression = (typeof IMAGE_COMPRESSIONS)[number];

/** http(s) only; no credentials in the URL (they would land in state, plans and the host's process list). */
const imageUrl = z
  .string()
  .max(2048, { error: "source URL too long (max 2048 characters)" })
  .regex(/^https?:\/\/[^\s/@]+(\/[^\s]*)?$/, { error: 'expected an http:// or https:// URL without spaces or credentials ("user:password@")' })
  .refine((s) => !/["'\\`$;|&<>]/.test(s), { error: "the URL must not contain quotes, backslashes or shell characters; percent-encode them" });

export const imageArgsSchema = z
  .object({
    /** An http(s) URL the host downloads from, or an absolute path of a file already on the host. */
    source: z.union([imageUrl, hostPath], { error: "expected an http:// or https:// URL, or an absolute path on the host" }),
    /** "sha256:<64 hex>" or "sha512:<128 hex>" of the file at `source` (as downloaded, before decompression). */
    checksum: z
      .string()
      .regex(/^(sha256:[0-9a-fA-F]{64}|sha512:[0-9a-fA-F]{128})$/, { error: 'expected "sha256:<64 hex digits>" or "sha512:<128 hex digits>"' })
      .transform((s) => s.toLowerCase())
      .optional(),
    /** Download without a checksum: the file is not verified. Must be asked for explicitly. */
    allowUnverified: z.boolean({ error: "expected true or false" }).default(false),
    /** What the file holds once decompressed: a disk image (qcow2, raw) or an LXC rootfs tarball. Detected from the name when omitted. */
    format: z.enum(IMAGE_FORMATS, { error: 'expected "qcow2", "raw" or "rootfs"' }).optional(),
    /** How a disk image is compressed. Detected from the name (.xz, .gz, .zst) when omitted; rootfs tarballs are kept as they are. */
    compression: z.enum(IMAGE_COMPRESSIONS, { error: 'expected "none", "xz", "gz" or "zst"' }).optional(),
    /** A label for humans (outputs and messages). */
    name: safeText("name", 128).optional(),
    /** Upper bound for one download (the host's transfer; a resumed download starts a new bound). */
    downloadTimeoutSec: count("seconds", 10, 86400).default(3600),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.checksum && !a.allowUnverified)
      ctx.addIssue({ code: "custom", path: ["checksum"], message: 'a checksum is required: "sha256:<64 hex digits>" or "sha512:<128 hex digits>" of the file at source; to use the file unverified set allowUnverified: true' });
    const layout = imageLayout(a);
    if (typeof layout === "string") ctx.addIssue({ code: "custom", path: ["format"], message: layout });
  });
export type ImageArgs = z.infer<typeof imageArgsSchema>;
export type ImageArgsInput = z.input<typeof imageArgsSchema>;

const TAR_SUFFIX = /\.(tar|tar\.gz|tgz|tar\.xz|txz)$/;

/** The last path segment of a URL or host path, without query or fragment. */
export function sourceFileName(source: string): string {
  const p = source.replace(/^https?:\/\/[^/]*/, "").replace(/[?#].*$/, "");
  return p.slice(p.lastIndexOf("/") + 1);
}

/** How the host stores an image: its content (undefined = a disk image whose format the host detects), compression, file suffix. */
export interface ImageLayout {
  format?: ImageFormat;
  compression: ImageCompression;
  suffix: string;
}

/** Detects format and compression from the source's name where not given; a text saying why when impossible. */
export function imageLayout(a: Pick<ImageArgs, "source" | "format" | "compression">): ImageLayout | string {
  const file = sourceFileName(a.source).toLowerCase();
  const tar = TAR_SUFFIX.exec(file);
  if (a.format === "rootfs" || (!a.format && tar)) {
    if (a.compression && a.compression !== "none") return 'a rootfs tarball is kept as it is (tar reads .gz/.xz itself): leave compression unset or "none"';
    if (!tar && file.endsWith(".zst")) return "a zstd-compressed rootfs tarball is not supported; use .tar, .tar.gz, .tgz, .tar.xz or .txz";
    return { format: "rootfs", compression: "none", suffix: tar ? tar[1] : "tar" };
  }
  if (tar) return `source ${file} is a tarball but format is "${a.format}"; use format "rootfs" for a container rootfs`;
  const byName: Record<string, ImageCompression> = { ".xz": "xz", ".gz": "gz", ".zst": "zst" };
  const ext = Object.keys(byName).find((e) => file.endsWith(e));
  const compression = a.compression ?? (ext ? byName[ext] : "none");
  const inner = ext ? file.slice(0, -ext.length) : file;
  const format = a.format ?? (inner.endsWith(".qcow2") ? "qcow2" : inner.endsWith(".raw") ? "raw" : undefined);
  return { format, compression, suffix: format ?? "img" };
}

/** Images live beside the hypervisor's disks, in a directory no guest or container name can take (names never start with "."). */
export function imagesDirOf(storageDir: string): string {
  return `${storageDir.replace(/\/+$/, "")}/.pulumi-virt-images`;
}

/**
 * The file's key on the host: its checksum, so every resource and stack asking for the same bytes shares one file.
 * An unverified image is keyed by its source instead.
 */
export function imageKey(a: Pick<ImageArgs, "source" | "checksum">): string {
  if (a.checksum) return a.checksum.replace(":", "-");
  return `unverified-${createHash("sha256").update(a.source).digest("hex").slice(0, 32)}`;
}

/** Where the ready image lives on the host (known at check time, so a preview shows a new image's path). */
export function imagePath(storageDir: string, a: Pick<ImageArgs, "source" | "checksum" | "format" | "compression">): string {
  const layout = imageLayout(a);
  if (typeof layout === "string") throw new Error(layout);
  return `${imagesDirOf(storageDir)}/${imageKey(a)}.${layout.suffix}`;
}

/** What Guests and Containers take from an Image. */
export interface ImageRef {
  path: string;
  checksum: string;
  format: string;
}
