#!/usr/bin/env python3
"""The many-pass methods on the PyTorch yardstick (the authors' explainer+classifier, expclass_torch.py), one
image, timed on this machine: integrated gradients (steps+1 points, the trapezoid rule), SmoothGrad (samples noisy
copies), occlusion (8 px window, stride 4, one forward per window). The same passes xwb's methods make, batched
the same way (16 points per backward pass, 32 windows per forward), so the ratio says how far xwb is from what
this machine's CPU can do with a native engine.

Run: /usr/bin/python3 bench/explain_torch.py --size 64 [--steps 50] [--reps 2] [--threads 2]; prints one JSON line.
"""
import argparse, importlib.util, json, os, statistics, time
import torch

SCRIPT = os.environ.get('XWB_TORCH_SCRIPT', '/work/shared/reference/expclass_torch.py')
spec = importlib.util.spec_from_file_location('expclass_torch', SCRIPT)
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)


def input_gradients(model, x, cls):
    x = x.clone().requires_grad_(True)
    logits, _ = model(x)
    logits[:, cls].sum().backward()
    return x.grad


def ig(model, x1, cls, steps, chunk=16):
    alphas = torch.linspace(0, 1, steps + 1)
    total = torch.zeros_like(x1)
    for a in range(0, steps + 1, chunk):
        al = alphas[a:a + chunk].view(-1, 1, 1, 1)
        w = torch.where((torch.arange(a, a + len(al)) == 0) | (torch.arange(a, a + len(al)) == steps), 0.5, 1.0)
        g = input_gradients(model, al * x1, cls)
        total += (g * w.view(-1, 1, 1, 1)).sum(0, keepdim=True)
    return (x1 * total / steps).abs().amax(1)


def smoothgrad(model, x1, cls, samples, chunk=16, noise=0.15):
    sigma = float((x1.max() - x1.min()) * noise)
    total = torch.zeros_like(x1)
    for a in range(0, samples, chunk):
        k = min(chunk, samples - a)
        g = input_gradients(model, x1.repeat(k, 1, 1, 1) + sigma * torch.randn(k, *x1.shape[1:]), cls)
        total += g.sum(0, keepdim=True)
    return (total / samples).abs().amax(1)


@torch.no_grad()
def occlusion(model, x1, cls, window=8, stride=4, chunk=32):
    s = x1.shape[-1]
    base = model(x1)[0][0, cls]
    fill = x1.mean((2, 3), keepdim=True)
    spots = [(y, x) for y in range(0, s - window + 1, stride) for x in range(0, s - window + 1, stride)]
    heat = torch.zeros(s, s); count = torch.zeros(s, s)
    for a in range(0, len(spots), chunk):
        group = spots[a:a + chunk]
        xs = x1.repeat(len(group), 1, 1, 1)
        for i, (y, x) in enumerate(group):
            xs[i, :, y:y + window, x:x + window] = fill[0]
        drop = base - model(xs)[0][:, cls]
        for i, (y, x) in enumerate(group):
            heat[y:y + window, x:x + window] += drop[i]; count[y:y + window, x:x + window] += 1
    return heat / count.clamp(min=1), len(spots)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--reps', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--methods', default='ig,sg,occ')
    a = p.parse_args()
    torch.manual_seed(0); torch.set_num_threads(a.threads)
    model = ref.ExpClass(a.size).eval()
    x1 = torch.rand(1, 3, a.size, a.size)
    runs = {'ig': lambda: ig(model, x1, 1, a.steps), 'sg': lambda: smoothgrad(model, x1, 1, a.steps),
            'occ': lambda: occlusion(model, x1, 1)}
    out = {'engine': 'pytorch-' + torch.__version__, 'size': a.size, 'threads': a.threads, 'steps': a.steps}
    for key in a.methods.split(','):
        times = []
        for _ in range(a.reps):
            t = time.perf_counter(); runs[key](); times.append(time.perf_counter() - t)
        out[key + '_s'] = round(statistics.median(times), 3)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
