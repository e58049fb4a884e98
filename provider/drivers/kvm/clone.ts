// A guest's root disk as a copy of another guest's (rootDisk.cloneFrom). The source must be a guest pulumi-virt
// manages (its <metadata> holds the owner token the program gave) on the same host, and stopped: a running guest
// writes under the copy, and a crash-consistent copy of a paused one is left to Snapshots. Identity that is the
// clone's own comes from its own definition, not the disk: a new libvirt UUID, MACs derived from its name, and its
// own cloud-init seed (instance-id and hostname = its name, the SSH host key pulumi-virt generated for it).
import type { Remote } from "../../ssh/types";
import { qemuImgInfo, readGuest } from "./guest";
import { CLONE_DISK_SCRIPT } from "./scripts";
import type { DomainPaths, DomainSpec, GuestObserved } from "./types";

/** Why the source guest cannot be copied now, in the words of the property that named it; undefined when it can. */
export function cloneSourceProblem(source: { guest: string; ownerToken: string }, o: GuestObserved, host: string): string | undefined {
  const what = `rootDisk.cloneFrom: guest "${source.guest}" on ${host}`;
  if (!o.exists) return `${what} does not exist: give a Guest pulumi-virt manages on this guest's host`;
  if (o.ownerToken !== source.ownerToken)
    return `${what} is not the pulumi-virt guest given (${o.ownerToken ? "another resource's token is in its metadata" : "it carries no pulumi-virt owner token"}): only a guest pulumi-virt manages is copied`;
  if (o.state !== "shutoff")
    return `${what} is ${o.state ?? "in an unknown state"}: only a stopped guest is copied (a running one writes under the copy). Set running: false on it for this up, and start it again later`;
  if (!o.rootDiskPath) return `${what} has no root disk in its definition`;
  return undefined;
}

/** Copies the stopped source's root disk into paths.rootDisk (once: a disk already there is kept). */
export async function cloneRootDisk(remote: Remote, spec: DomainSpec, paths: DomainPaths): Promise<void> {
  const source = spec.rootDisk.cloneFrom!;
  const done = await remote.exec(["test", "-e", paths.rootDisk], { step: `root disk of ${spec.name}`, okCodes: [0, 1] });
  if (done.code === 0) return;
  const o = await readGuest(remote, source.guest);
  const problem = cloneSourceProblem(source, o, `host ${remote.label}`);
  if (problem) throw new Error(problem);
  const info = await qemuImgInfo(remote, o.rootDiskPath!, `read the disk of ${source.guest}`);
  await remote.script(
    CLONE_DISK_SCRIPT,
    [paths.dir, paths.rootDisk, o.rootDiskPath!, info.format, spec.rootDisk.mode, 
      // Without a recorded backing format the base is not guessed: the copy is flattened instead.
      info.backingFile && info.backingFormat ? info.backingFile : "", info.backingFile && info.backingFormat ? info.backingFormat : "",
      spec.rootDisk.sizeMiB ? String(spec.rootDisk.sizeMiB) : "", String(info.virtualSize)],
    { step: `copy the root disk of ${source.guest} for ${spec.name}` },
  );
}
