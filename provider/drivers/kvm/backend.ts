// The kvm backend as the registry (../registry.ts) sees it.
import type { Backend } from "../registry";
import { kvmHostDriver, kvmMachineDriver } from "./machine";

export const backend: Backend = { host: kvmHostDriver, guest: kvmMachineDriver };
