// A small deterministic PRNG (mulberry32) for tests, so a failing random case
// can be replayed from its seed: the same generator the chaos injection uses.
export { seededRandom as prng } from '../../shared/pipeline/local/chaos';
