// The xen backend as the registry (../registry.ts) sees it.
import type { Backend } from "../registry";
import { xenHostDriver, xenMachineDriver } from "./machine";

export const backend: Backend = { host: xenHostDriver, guest: xenMachineDriver };
