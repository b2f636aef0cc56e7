#!/usr/bin/python3
"""Yardstick for bench/generate.ts: the paper's synthetic set written the way an OpenCV generator writes it.

The authors' own generator is not available here, so this is an equivalent written for the benchmark: N RGB
images of SIZE px on white, 20 shapes each (circles of radius SIZE/32..SIZE/16, one triangle among them in the
positives), random rotation, no overlap (rejection sampling of centres), 1-px anti-aliased outlines
(cv2.LINE_AA), a target mask PNG per image, PASCAL VOC XML with the target's box, and the image-set lists.
Files go through cv2.imwrite with its default PNG settings. One process, one thread (as such scripts are run).

    /usr/bin/python3 bench/reference/generate_cv2.py OUT_DIR [--images 1000] [--positives 618] [--size 224] [--seed 1]

Prints one line of JSON: {"images": N, "seconds": wall time, "cpu": CPU time, "files": files written}.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import cv2
import numpy as np

XML = """<annotation>
\t<folder>JPEGImages</folder>
\t<filename>{id}.png</filename>
\t<source>
\t\t<database>cv2 synthetic</database>
\t</source>
\t<size>
\t\t<width>{w}</width>
\t\t<height>{h}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>1</segmented>
{objects}</annotation>
"""
OBJECT = """\t<object>
\t\t<name>triangle</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>{x0}</xmin>
\t\t\t<ymin>{y0}</ymin>
\t\t\t<xmax>{x1}</xmax>
\t\t\t<ymax>{y1}</ymax>
\t\t</bndbox>
\t</object>
"""


def place(rng, size, radii):
    """Centres for discs of the given radii, none touching another, each fully inside the image."""
    while True:
        placed = []
        for r in radii:
            for _ in range(500):
                x = rng.uniform(r + 1, size - r - 1)
                y = rng.uniform(r + 1, size - r - 1)
                if all((x - px) ** 2 + (y - py) ** 2 > (r + pr + 2) ** 2 for px, py, pr in placed):
                    placed.append((x, y, r))
                    break
            else:
                break
        if len(placed) == len(radii):
            return placed


def triangle(x, y, r, angle):
    pts = [
        (x + r * math.cos(angle - math.pi / 2 + 2 * math.pi * i / 3), y + r * math.sin(angle - math.pi / 2 + 2 * math.pi * i / 3))
        for i in range(3)
    ]
    # cv2 draws with 4 fractional bits (shift=4)
    return np.array([[round(px * 16), round(py * 16)] for px, py in pts], dtype=np.int32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--positives", type=int, default=618)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--shapes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cv2.setNumThreads(1)
    rng = random.Random(a.seed)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for d in ("JPEGImages", "Annotations", "SegmentationClass", "ImageSets/Main", "ImageSets/Segmentation"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    positive = set(rng.sample(range(a.images), a.positives))
    ids = ["%06d" % (i + 1) for i in range(a.images)]
    files = 0
    for i, id_ in enumerate(ids):
        radii = [rng.uniform(a.size / 32, a.size / 16) for _ in range(a.shapes)]
        centres = place(rng, a.size, radii)
        img = np.full((a.size, a.size, 3), 255, np.uint8)
        mask = np.zeros((a.size, a.size), np.uint8)
        objects = ""
        for k, (x, y, r) in enumerate(centres):
            if k == 0 and i in positive:
                pts = triangle(x, y, r, rng.uniform(0, 2 * math.pi))
                cv2.polylines(img, [pts], True, (0, 0, 0), 1, cv2.LINE_AA, 4)
                cv2.polylines(mask, [pts], True, 1, 1, cv2.LINE_8, 4)
                ys, xs = np.nonzero(mask)
                objects += OBJECT.format(x0=xs.min() + 1, y0=ys.min() + 1, x1=xs.max() + 1, y1=ys.max() + 1)
            else:
                cv2.circle(img, (round(x * 16), round(y * 16)), round(r * 16), (0, 0, 0), 1, cv2.LINE_AA, 4)
        cv2.imwrite(os.path.join(a.out, "JPEGImages", id_ + ".png"), img)
        cv2.imwrite(os.path.join(a.out, "SegmentationClass", id_ + ".png"), mask)
        with open(os.path.join(a.out, "Annotations", id_ + ".xml"), "w") as f:
            f.write(XML.format(id=id_, w=a.size, h=a.size, objects=objects))
        files += 3
    order = list(range(a.images))
    rng.shuffle(order)
    train = sorted(order[: int(0.75 * a.images)])
    val = sorted(order[int(0.75 * a.images) :])
    for name, idx in (("train", train), ("val", val), ("trainval", sorted(train + val))):
        text = "".join(ids[j] + "\n" for j in idx)
        for sub in ("Main", "Segmentation"):
            with open(os.path.join(a.out, "ImageSets", sub, name + ".txt"), "w") as f:
                f.write(text)
        with open(os.path.join(a.out, "ImageSets", "Main", "triangle_" + name + ".txt"), "w") as f:
            f.write("".join("%s %2d\n" % (ids[j], 1 if j in positive else -1) for j in idx))
        files += 3
    seconds = time.perf_counter() - t0
    print(json.dumps({"images": a.images, "seconds": seconds, "cpu": time.process_time() - c0, "files": files}))


if __name__ == "__main__":
    sys.exit(main())
