/**
 * Placement of the shapes of one image: which shapes, their sizes, rotations and positions.
 *
 * Random sequential placement in a shuffled order (so targets and distractors get the same position
 * statistics), bounded: `placementAttempts` positions per shape, then a fresh layout, at most LAYOUT_RESTARTS
 * times, then a clear error. Never loops forever.
 */
import type { Random } from '../../util/random.js';
import {
  containerRadius,
  footprintRadius,
  LAYOUT_RESTARTS,
  NEST_GAP,
  type ResolvedOptions,
  type ShapeSet,
} from './options.js';
import type { PlacedShape, Shape } from './shapes.js';

/** target: the class to find; distractor: anything else; container: the shape a nested target sits in. */
export type Role = 'target' | 'distractor' | 'container';

export interface LayoutItem extends PlacedShape {
  role: Role;
  /** Drawn after every outer shape: targets, and whatever sits inside a container. */
  inner: boolean;
}

interface Unit {
  inner: { shape: Shape; role: Role; r: number; angle: number };
  container: { shape: Shape; r: number; angle: number } | null;
  /** Radius of the disc holding every pixel the unit can touch. */
  footprint: number;
}

export class LayoutError extends Error {}

function makeUnits(rng: Random, o: ResolvedOptions, sh: ShapeSet, positive: boolean): Unit[] {
  const n = rng.int(o.shapesPerImage[0], o.shapesPerImage[1]);
  // Negative images get as many containers as positives have targets, holding distractors, so a container
  // alone never gives the label away.
  const special = Math.min(n, positive || sh.container ? o.targetsPerPositive : 0);
  const angle = () => (o.rotation ? rng.uniform(0, 2 * Math.PI) : 0);
  const units: Unit[] = [];
  for (let i = 0; i < n; i++) {
    const isSpecial = i < special;
    const role: Role = isSpecial && positive ? 'target' : 'distractor';
    const shape = role === 'target' ? sh.target : rng.pick(sh.distractors);
    const r = rng.uniform(o.radius[0], o.radius[1]);
    const inner = { shape, role, r, angle: angle() };
    if (isSpecial && sh.container) {
      const cr = containerRadius(r, o.lineWidth, o.fill, sh.container);
      units.push({
        inner,
        container: { shape: sh.container, r: cr, angle: angle() },
        footprint: footprintRadius(r, 'nested', o.lineWidth, o.fill, sh),
      });
    } else {
      units.push({ inner, container: null, footprint: footprintRadius(r, 'plain', o.lineWidth, o.fill, sh) });
    }
  }
  return rng.shuffle(units);
}

function tryPlace(
  rng: Random,
  o: ResolvedOptions,
  units: readonly Unit[],
): { placed: { x: number; y: number }[] } | { failedAt: number } {
  const placed: { x: number; y: number }[] = [];
  for (let k = 0; k < units.length; k++) {
    const f = units[k].footprint;
    let found: { x: number; y: number } | null = null;
    for (let attempt = 0; attempt < o.placementAttempts && !found; attempt++) {
      // Without border occlusion the whole footprint stays in the image; with it, only the centre must.
      const x = o.borderOcclusion ? rng.uniform(0, o.width) : rng.uniform(f, o.width - f);
      const y = o.borderOcclusion ? rng.uniform(0, o.height) : rng.uniform(f, o.height - f);
      let ok = true;
      if (!o.overlap) {
        for (let j = 0; j < placed.length && ok; j++) {
          const dx = x - placed[j].x;
          const dy = y - placed[j].y;
          const reach = f + units[j].footprint;
          // Footprints may not even touch: then no pixel can be touched by two shapes.
          if (dx * dx + dy * dy <= reach * reach) ok = false;
        }
      }
      if (ok) found = { x, y };
    }
    if (!found) return { failedAt: k };
    placed.push(found);
  }
  return { placed };
}

/**
 * Lays out one image. `label` names the image in errors. The result is in drawing order: outer shapes first,
 * then targets and nested shapes, so nothing is ever drawn over a target.
 */
export function layoutImage(
  rng: Random,
  o: ResolvedOptions,
  sh: ShapeSet,
  positive: boolean,
  label: string,
): LayoutItem[] {
  for (let restart = 1; ; restart++) {
    const units = makeUnits(rng, o, sh, positive);
    const res = tryPlace(rng, o, units);
    if ('failedAt' in res) {
      if (restart < LAYOUT_RESTARTS) continue;
      const u = units[res.failedAt];
      throw new LayoutError(
        `image ${label}: could not place shape ${res.failedAt + 1} of ${units.length} ` +
          `(${u.container ? `${u.inner.shape.name} nested in ${u.container.shape.name}` : u.inner.shape.name}, ` +
          `footprint radius ${u.footprint.toFixed(1)} px) in ${o.width}x${o.height} without overlap after ` +
          `${o.placementAttempts} attempts in each of ${LAYOUT_RESTARTS} fresh layouts; lower shapesPerImage or ` +
          'radius, or set overlap: true',
      );
    }
    const outer: LayoutItem[] = [];
    const inner: LayoutItem[] = [];
    units.forEach((u, k) => {
      const { x, y } = res.placed[k];
      if (!u.container) {
        const item = { ...u.inner, cx: x, cy: y, inner: u.inner.role === 'target' };
        (item.inner ? inner : outer).push(item);
        return;
      }
      outer.push({ ...u.container, role: 'container', cx: x, cy: y, inner: false });
      // The container is sized with NEST_GAP * r to spare, so the inner shape may drift that far off-centre.
      const slack = NEST_GAP * u.inner.r;
      const rho = slack * Math.sqrt(rng.next());
      const phi = rng.uniform(0, 2 * Math.PI);
      inner.push({ ...u.inner, cx: x + rho * Math.cos(phi), cy: y + rho * Math.sin(phi), inner: true });
    });
    return [...outer, ...inner];
  }
}
