#!/usr/bin/env node
// The pinned AWS SDK release supports Node 20; its start-up notice concerns
// releases after January 2027, which this project does not use. Node 22 is
// recommended all the same (docs/setup.md).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
await import("../dist/main.js");
