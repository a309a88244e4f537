// The branches the reference analysis reads, per profile, taken from its own
// column declaration (the decoder benchmark and the HTTP tests read exactly these).

import { PhysliteSchema, expectedBranch } from '../../shared/physlite/index';
import { profileColumns, type Profile } from '../../shared/analysis/reference/index';

export type { Profile };

export function analysisBranches(profile: Profile): string[] {
  const standard = new PhysliteSchema(); // no file: standard PHYSLITE branch names
  return profileColumns(profile).map((ref) => expectedBranch(standard, ref));
}
