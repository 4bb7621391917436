r"""Structured item--feature data sets for semantic development (Saxe, McClelland & Ganguli 2019).

Items are presented as one-hot inputs, so a data set is just its feature
matrix ``Y`` of shape ``(n_features, n_items)`` (columns are items, the conventions page (docs: Conventions)
section 0) together with ``X = I`` (``n_items x n_items``).

* :func:`living_things` -- the eight living things of Rumelhart & Todd (1993) /
  Rogers & McClelland (2004) with ISA / is / can / has properties.
* :func:`hierarchical_data` -- the hierarchical branching-diffusion generative
  model of Saxe et al. (2019, SI "Hierarchical branching diffusion"): a +-1
  feature value is drawn at the root of a tree and copied down each branch,
  flipping sign with probability ``flip_prob`` at every branching; the leaves
  are the items.

Pure NumPy (float64); randomness through an explicit ``seed``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .validation import as_float, as_int, as_seed

__all__ = ["Tree", "HierarchicalData", "living_things", "hierarchical_data", "one_hot", "check_branching",
           "check_flip_prob", "ITEMS_MAX"]


def one_hot(n_items: int) -> np.ndarray:
    """One-hot item inputs ``X = I``, shape ``(n_items, n_items)`` (columns are items)."""
    return np.eye(as_int(n_items, "n_items", low=1, high=ITEMS_MAX))


# ---------------------------------------------------------------- living things
_LT_ITEMS = ("pine", "oak", "rose", "daisy", "robin", "canary", "sunfish", "salmon")
# Attribute lists after Rogers & McClelland (2004, Fig. 2.2 / Appendix B.1), the
# "eight living things" of Rumelhart & Todd (1993); reconstructed, not copied.
_LT_PROPS: dict[str, dict[str, tuple[str, ...]]] = {
    "pine": {"ISA": ("living thing", "plant", "tree", "pine"), "is": ("living", "green", "big"),
             "can": ("grow",), "has": ("roots", "bark", "branches")},
    "oak": {"ISA": ("living thing", "plant", "tree", "oak"), "is": ("living", "big"),
            "can": ("grow",), "has": ("roots", "bark", "branches", "leaves")},
    "rose": {"ISA": ("living thing", "plant", "flower", "rose"), "is": ("living", "pretty", "red"),
             "can": ("grow",), "has": ("roots", "petals", "leaves")},
    "daisy": {"ISA": ("living thing", "plant", "flower", "daisy"), "is": ("living", "pretty", "yellow"),
              "can": ("grow",), "has": ("roots", "petals", "leaves")},
    "robin": {"ISA": ("living thing", "animal", "bird", "robin"), "is": ("living", "red"),
              "can": ("grow", "move", "fly"), "has": ("skin", "wings", "feathers")},
    "canary": {"ISA": ("living thing", "animal", "bird", "canary"), "is": ("living", "yellow"),
               "can": ("grow", "move", "fly", "sing"), "has": ("skin", "wings", "feathers")},
    "sunfish": {"ISA": ("living thing", "animal", "fish", "sunfish"), "is": ("living", "yellow"),
                "can": ("grow", "move", "swim"), "has": ("skin", "scales", "gills")},
    "salmon": {"ISA": ("living thing", "animal", "fish", "salmon"), "is": ("living", "red", "big"),
               "can": ("grow", "move", "swim"), "has": ("skin", "scales", "gills")},
}
_LT_RELATIONS = ("ISA", "is", "can", "has")


def living_things() -> tuple[list[str], list[str], np.ndarray]:
    r"""The eight living things and their properties (Rumelhart & Todd 1993; Rogers & McClelland 2004).

    Returns ``(items, features, Y)``: 8 item names (pine, oak, rose, daisy,
    robin, canary, sunfish, salmon), the feature names ``"<relation> <property>"``
    for the relations ISA / is / can / has, and the binary matrix ``Y`` of shape
    ``(n_features, 8)`` with ``Y[m, i] = 1`` when item i has feature m. This is
    the data set of Saxe, McClelland & Ganguli (2019, Fig. 2-3); the inputs are
    one-hot (:func:`one_hot`).
    """
    features: list[str] = []
    for rel in _LT_RELATIONS:
        seen: list[str] = []
        for item in _LT_ITEMS:
            for p in _LT_PROPS[item][rel]:
                if p not in seen:
                    seen.append(p)
        features += [f"{rel} {p}" for p in seen]
    Y = np.zeros((len(features), len(_LT_ITEMS)))
    for i, item in enumerate(_LT_ITEMS):
        for rel in _LT_RELATIONS:
            for p in _LT_PROPS[item][rel]:
                Y[features.index(f"{rel} {p}"), i] = 1.0
    return list(_LT_ITEMS), features, Y


# ---------------------------------------------------------------- hierarchy
#: Most items (leaves, ``prod(branching)``) a tree may have: item-by-item matrices are P x P (2 GiB at the bound)
ITEMS_MAX = 2**14
#: Most entries of a sampled feature matrix (``n_features x P``; 2 GiB of float64)
MAX_ENTRIES = 2**28


def check_branching(branching) -> tuple[int, ...]:
    """Validate branching factors: a non-empty sequence of ints >= 2 (one per level below the root),
    with at most :data:`ITEMS_MAX` leaves."""
    if isinstance(branching, (str, bytes)):
        raise TypeError(f"branching must be a sequence of ints >= 2, one per level; got {branching!r}")
    try:
        b = tuple(branching)
    except TypeError:
        raise ValueError(f"branching must be a sequence of ints >= 2, one per level; got {branching!r}") from None
    if not b:
        raise ValueError("branching must name at least one level (e.g. (2, 2, 2))")
    for k in b:
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
            raise ValueError(f"every branching factor must be an integer >= 2, got {branching!r}")
    n_items = int(np.prod([float(k) for k in b]))
    if n_items > ITEMS_MAX:
        raise ValueError(f"branching {b if len(b) <= 8 else '...'} has {n_items:.3g} leaves (items): at most "
                         f"ITEMS_MAX = {ITEMS_MAX}")
    return tuple(int(k) for k in b)


def check_flip_prob(flip_prob) -> float:
    """Validate a flip probability in [0, 0.5] (0.5 makes children independent of their parent)."""
    return as_float(flip_prob, "flip_prob", low=0.0, high=0.5)


@dataclass(frozen=True)
class Tree:
    """A uniform tree: ``branching[l]`` children for every node at level ``l`` (root = level 0).

    Attributes
    ----------
    branching : branching factors, one per level below the root (L of them).
    n_nodes : ``M_l``, the number of nodes at level ``l = 0..L`` (``M_0 = 1``, ``M_L`` = items).
    ancestor : ``(L + 1, n_items)`` int array, ``ancestor[l, i]`` the index (within level l)
        of item i's ancestor at level l (``ancestor[L, i] = i``).
    """

    branching: tuple[int, ...]
    n_nodes: tuple[int, ...]
    ancestor: np.ndarray

    @property
    def n_levels(self) -> int:
        """Number of levels L + 1 (root to leaves)."""
        return len(self.n_nodes)

    @property
    def n_items(self) -> int:
        return self.n_nodes[-1]

    def lca_level(self) -> np.ndarray:
        """``(n_items, n_items)`` level of the deepest common ancestor of items i and j (L on the diagonal)."""
        same = self.ancestor[:, :, None] == self.ancestor[:, None, :]
        return np.sum(same, axis=0) - 1

    @classmethod
    def uniform(cls, branching) -> "Tree":
        b = check_branching(branching)
        n_nodes = tuple(int(np.prod(b[:l])) for l in range(len(b) + 1))
        P = n_nodes[-1]
        ancestor = np.stack([np.arange(P) // (P // n_nodes[l]) for l in range(len(b) + 1)])
        return cls(branching=b, n_nodes=n_nodes, ancestor=ancestor)


@dataclass(frozen=True)
class HierarchicalData:
    """Output of :func:`hierarchical_data`: ``X`` (one-hot, P x P), ``Y`` (n_features x P, +-1), the tree."""

    X: np.ndarray
    Y: np.ndarray
    tree: Tree

    def __iter__(self):  # allows X, Y, tree = hierarchical_data(...)
        return iter((self.X, self.Y, self.tree))


def hierarchical_data(branching=(2, 2, 2), n_features: int = 1000, flip_prob: float = 0.1,
                      seed: int = 0) -> HierarchicalData:
    r"""Sample the hierarchical branching-diffusion model (Saxe et al. 2019, SI Sec. "Hierarchical ...").

    For each of ``n_features`` independent features a value ``eta = +-1`` is drawn
    uniformly at the root; every child copies its parent's value and flips its
    sign with probability ``epsilon = flip_prob``, level by level down a uniform
    tree with ``branching[l]`` children per node at level ``l``. The items are the
    ``P = prod(branching)`` leaves. Two items whose deepest common ancestor is at
    level ``k`` (of ``L = len(branching)``) are separated by ``2 (L - k)``
    independent flips, so their feature correlation is

    .. math:: q_k = E[y_{m i} y_{m j}] = (1 - 2\epsilon)^{2 (L - k)}.

    Returns a :class:`HierarchicalData` ``(X, Y, tree)`` with one-hot ``X = I_P``
    and ``Y`` of shape ``(n_features, P)`` with entries +-1. Raises ValueError for a
    branching factor below 2, ``flip_prob`` outside ``[0, 0.5]`` or ``n_features < 1``.
    """
    tree = Tree.uniform(branching)
    eps = check_flip_prob(flip_prob)
    n_features = as_int(n_features, "n_features", low=1, high=MAX_ENTRIES // tree.n_items)
    rng = np.random.default_rng(as_seed(seed))
    vals = rng.choice([-1.0, 1.0], size=(n_features, 1))
    for b in tree.branching:
        vals = np.repeat(vals, b, axis=1)
        flips = rng.random(vals.shape) < eps
        vals = np.where(flips, -vals, vals)
    return HierarchicalData(X=one_hot(tree.n_items), Y=vals, tree=tree)
