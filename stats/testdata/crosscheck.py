#!/usr/bin/env python3
"""Independent reference values for stats_test.go, from the Python standard
library only (no scipy on the build machine). Run: python3 testdata/crosscheck.py"""
import itertools, math, statistics
from statistics import NormalDist

def mad(xs):
    m = statistics.median(xs)
    return statistics.median([abs(x - m) for x in xs])

def median_ci(xs):
    """Largest k with 2*P(B<=k) <= 0.05, B ~ Bin(n, 1/2); interval x[k]..x[n-1-k]."""
    s, n = sorted(xs), len(xs)
    k, tail, cdf = -1, 0.0, 0.0
    for i in range(n):
        cdf += math.comb(n, i) / 2**n
        if 2 * cdf > 0.05:
            break
        k, tail = i, cdf
    if n < 6 or k < 0:
        return s[0], s[-1], "range", 1 - 2**(1 - n)
    return s[k], s[n - 1 - k], "order-statistic", 1 - 2 * tail

def summarize(name, xs):
    print(name, dict(n=len(xs), mean=statistics.fmean(xs), median=statistics.median(xs),
          stdev=statistics.stdev(xs) if len(xs) > 1 else 0, mad=mad(xs), ci=median_ci(xs)))

def mw_u(x, y):
    """U of y: pairs with y > x, ties 1/2 (brute force over pairs)."""
    return sum(1.0 if b > a else 0.5 if b == a else 0.0 for a in x for b in y)

def mw_exact(x, y):
    """Two-sided exact p by enumerating every assignment of ranks to y."""
    n1, n2 = len(x), len(y)
    u = mw_u(x, y)
    le = ge = total = 0
    for ys in itertools.combinations(range(n1 + n2), n2):
        # U of y = sum of ranks of y (0-based positions) - n2(n2-1)/2
        v = sum(ys) - n2 * (n2 - 1) // 2
        total += 1
        le += v <= u
        ge += v >= u
    return u, min(1.0, 2 * min(le, ge) / total)

def mw_normal(x, y):
    n1, n2 = len(x), len(y)
    n = n1 + n2
    u = mw_u(x, y)
    counts = {}
    for v in x + y:
        counts[v] = counts.get(v, 0) + 1
    tie = sum(t**3 - t for t in counts.values())
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))))
    z = (abs(u - n1 * n2 / 2) - 0.5) / sigma
    return u, min(1.0, 2 * (1 - NormalDist().cdf(z)))

summarize("outlier5", [1, 2, 3, 4, 100])
summarize("seq10", list(range(10, 20)))
summarize("seq20", list(range(1, 21)))
summarize("mad0", [5, 5, 5, 5, 5, 5, 9])
print("mad0 meanAD z of 9:", 4 / (1.253314 * (4 / 7)))
print("exact 3v3 sep", mw_exact([1, 2, 3], [4, 5, 6]))
print("exact 3v3 alt", mw_exact([1, 3, 5], [2, 4, 6]))
print("exact 4v4 sep", mw_exact([1, 2, 3, 4], [5, 6, 7, 8]))
print("exact 5v5 rev", mw_exact([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]))
a8 = [1.1, 2.3, 3.2, 4.8, 5.5, 6.1, 7.7, 9.0]
b9 = [2.0, 4.1, 5.9, 6.6, 8.2, 8.8, 9.5, 10.4, 11.3]
print("exact 8v9", mw_exact(a8, b9))
print("ties 4v4", mw_normal([1, 2, 2, 3], [2, 3, 4, 5]))
x60 = [i * 1.0 for i in range(60)]
y60 = [i + 10.5 for i in range(60)]
print("normal 60v60", mw_normal(x60, y60))
x31 = [i * 1.0 for i in range(31)]
y31 = [i + 5.5 for i in range(31)]
print("normal 31v31", mw_normal(x31, y31))
