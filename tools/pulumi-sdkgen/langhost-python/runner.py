# Runs a Pulumi Python program for pulumi-language-python (main.go): configures the `pulumi` SDK of the interpreter
# it runs under from the engine's arguments and the PULUMI_CONFIG* environment, then runs the program's __main__.py
# inside a stack. Exit code 32 means the error was reported to the engine already.
import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback

REPORTED = 32

try:
    import pulumi
    import pulumi.runtime
except ImportError:
    print(traceback.format_exc(), file=sys.stderr)
    print(f"the `pulumi` Python SDK is not installed for {sys.executable}", file=sys.stderr)
    sys.exit(1)


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("monitor", "engine", "project", "stack", "organization", "root-directory", "parallel", "dry-run"):
        parser.add_argument(f"--{name}", default="")
    parser.add_argument("program")
    parser.add_argument("args", nargs="*")
    args = parser.parse_args()

    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env() or {}, pulumi.runtime.get_config_secret_keys_env())
    pulumi.runtime.configure(
        pulumi.runtime.Settings(
            project=args.project,
            stack=args.stack,
            monitor=args.monitor,
            engine=args.engine,
            parallel=int(args.parallel or "1"),
            dry_run=args.dry_run == "true",
            organization=args.organization or None,
            root_directory=args.root_directory or None,
        )
    )
    sys.argv = [args.program, *args.args]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Unobserved futures of a failed program are expected; asyncio's complaints about them are noise.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)

    def run_program() -> None:
        runpy.run_path(args.program, run_name="__main__")

    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
        return 0
    except pulumi.RunError as e:
        pulumi.log.error(str(e))
        return REPORTED
    except Exception:  # noqa: BLE001 -- any failure of the program is reported to the engine
        pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
        return REPORTED
    finally:
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
