// Which objects of a dataset are ROOT files: `x.root`, and ATLAS-style names
// with a retry suffix such as `DAOD_PHYSLITE.37621409._000001.pool.root.1`.
// Prefix listings keep only these; an object named explicitly is taken as is.

const ROOT_NAME = /\.root(\.\d+)?$/;

/** True for a name (or path, or URL) ending in `.root` or `.root.<digits>`. */
export function isRootObjectName(name: string): boolean {
  return ROOT_NAME.test(name);
}
