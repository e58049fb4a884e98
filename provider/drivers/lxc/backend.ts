// The lxc backend as the registry (../registry.ts) sees it.
import type { Backend } from "../registry";
import { lxcHostDriver, lxcMachineDriver } from "./machine";

export const backend: Backend = { host: lxcHostDriver, container: lxcMachineDriver };
