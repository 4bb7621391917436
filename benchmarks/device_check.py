"""GPU/CPU checks of issue 16 on a device machine: thread counts, named divergence on CUDA, device errors."""
import time, numpy as np, torch, sys
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "threads", torch.get_num_threads(), flush=True)
import idealnets.simulate as simulate
from idealnets.simulate import DivergenceError, resolve_device
from threads import thread_benchmark  # benchmarks/threads.py (the script's folder is on sys.path)
print("threads after import simulate:", torch.get_num_threads())
thread_benchmark((1, 2, 4, 8, 16), steps=400)
if torch.cuda.is_available():
    from idealnets.simulate import generalization as sg, deep_linear as sdl, ntk as snt
    for dev in ("cuda:7", "gpu"):
        try: resolve_device(dev)
        except ValueError as e: print("resolve_device", dev, "->", e)
    d = sg.sample_data(50, 100, 4, seed=0, device="cuda")
    lr = sg.stable_lr(d)
    t0 = time.perf_counter()
    try:
        sg.train_linear(d, lr=1.05 * lr, steps=20000, record=60)
    except DivergenceError as e:
        print("cuda train_linear 1.05x:", e, f"({time.perf_counter()-t0:.2f}s)")
    run = sg.train_linear(d, lr=0.5 * lr, steps=2000, record=20)
    print("cuda train_linear 0.5x finite:", np.isfinite(run.test_error).all())
    rng = np.random.default_rng(0)
    X = np.sqrt(8.0) * np.linalg.qr(rng.standard_normal((8, 8)))[0]
    Y = rng.standard_normal((4, 8))
    try:
        sdl.train(X, Y, 2, 16, 32, "small", 0.5, 5 * sdl.stable_lr(X, Y, 2), 5000, device="cuda")
        print("cuda deep linear 5x: returned")
    except DivergenceError as e:
        print("cuda deep linear 5x:", e)
    r = sdl.train(X, Y, 3, 16, 64, "small", 0.1, 0.3 * sdl.stable_lr(X, Y, 3), 2000, device="cuda")
    print("cuda deep linear ok, final loss", r.losses[:, -1].mean())
    x = rng.standard_normal((3, 8)); y = rng.standard_normal((1, 8))
    rr = snt.train(x, y, width=512, n_networks=4, lr=0.5, steps=500, device="cuda")
    print("cuda ntk ok", np.isfinite(rr.losses).all())
