// The network driver's host scripts (./scripts/*.sh), run as `sh -c SCRIPT sh ARGS...`: user data only as arguments.
import { shellScript } from "../shell";

export const NET_APPLY_SCRIPT = shellScript("net", "net-apply.sh");
export const NET_READ_SCRIPT = shellScript("net", "net-read.sh");
export const NET_DESTROY_SCRIPT = shellScript("net", "net-destroy.sh");
