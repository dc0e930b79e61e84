// The project targets Lambda's nodejs24.x; running the suite on another major hides runtime differences.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  throw new Error(
    `Tests must run on Node 24 (found ${process.version}). Run them through npm scripts, which use the node@24 devDependency.`,
  );
}
