#!/usr/bin/env node
// pulumi-resource-virt: the virt resource provider plugin, served by the Node SDK's provider server.
import { main } from "@pulumi/pulumi/provider";
import { decorateProviderServer } from "./detailed-diff";
import { configureProvider } from "./import";
import { lastDetailedDiff, VirtProvider } from "./provider";

decorateProviderServer({
  detailedDiffFor(urn) {
    const d = lastDetailedDiff.get(urn);
    lastDetailedDiff.delete(urn);
    return d;
  },
  configure: configureProvider,
});
main(new VirtProvider(), process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
