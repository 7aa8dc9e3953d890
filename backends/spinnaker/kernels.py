"""Compiled (numba, one core) passes of the SpiNNaker compiler over synapse and core arrays.

Each kernel is one linear pass over its arrays, so the compile grows with the synapses
(issue 19); each reproduces the pure-numpy or pure-Python definition it replaces exactly
(integer counts, or float operations in the same order):

* ``slot_sums``: ``np.add.at(sums, (type, post), magnitude)`` (sequential adds, same order).
* ``distinct_per_group``: per group (core) of posts, the distinct presynaptic neurons of their
  synapses, with a "last group seen" mark per neuron instead of a sort of every (core, pre)
  pair.
* ``mark_pairs``: the (source core, destination core) pairs of the synapses, as bits of a
  (cores x cores) bit matrix.
* ``trees`` and ``compressed_counts``: the X-then-Y multicast trees and the per-chip table
  compression of ``routing.py`` (``_tree``, ``build_tables``, ``compress``), on integer
  arrays: a route's link set is a bit mask, its local-core set a row of 64-bit words.
"""

from __future__ import annotations

import numpy as np
from numba import njit

LANE_BITS = 64  # bits of one word of a bit set (uint64 storage)
NOT_IN_TREE = -2  # a chip's "arrived by" before the tree reaches it
SOURCE_CHIP = -1  # "arrived by" of the source chip (the routing tables' None)


@njit(cache=True)
def slot_sums(sums: np.ndarray, synapse_type: np.ndarray, post: np.ndarray,
              magnitude: np.ndarray) -> None:
    """``sums[type, post] += magnitude`` per synapse, in synapse order (``np.add.at``)."""
    for s in range(post.size):
        sums[synapse_type[s], post[s]] += magnitude[s]


@njit(cache=True)
def is_sorted(values: np.ndarray) -> bool:
    for i in range(1, values.size):
        if values[i] < values[i - 1]:
            return False
    return True


@njit(cache=True)
def distinct_per_group(ptrs: np.ndarray, pre: np.ndarray, offsets: np.ndarray,
                       order: np.ndarray, group_of: np.ndarray, n_groups: int,
                       n_pre: int) -> np.ndarray:
    """Per group, the distinct ``pre`` of the synapses of its posts.

    ``ptrs[t, p]:ptrs[t, p + 1]`` are post ``p``'s synapses in table ``t``, whose pre indices
    start at ``pre[offsets[t]]``; ``order`` lists the posts with each group's consecutive."""
    counts = np.zeros(n_groups, dtype=np.int64)
    last = np.full(n_pre, -1, dtype=np.int64)
    for p in order:
        g = group_of[p]
        for t in range(ptrs.shape[0]):
            base = offsets[t]
            for s in range(ptrs[t, p], ptrs[t, p + 1]):
                q = pre[base + s]
                if last[q] != g:
                    last[q] = g
                    counts[g] += 1
    return counts


@njit(cache=True)
def mark_pairs(bits: np.ndarray, src_core: np.ndarray, pre: np.ndarray,
               dst_core: np.ndarray, post: np.ndarray) -> None:
    """Set bit (source core of pre, destination core of post) for every synapse."""
    one = np.uint64(1)
    for s in range(pre.size):
        a = src_core[pre[s]]
        b = dst_core[post[s]]
        bits[a, b // LANE_BITS] |= one << np.uint64(b % LANE_BITS)


@njit(cache=True)
def bit_lists(bits: np.ndarray, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """The set columns of every row in ascending order, as CSR (``ptr``, ``columns``)."""
    ptr = np.zeros(bits.shape[0] + 1, dtype=np.int64)
    for r in range(bits.shape[0]):
        count = 0
        for w in range(bits.shape[1]):
            word = bits[r, w]
            while word:
                word &= word - np.uint64(1)
                count += 1
        ptr[r + 1] = ptr[r] + count
    columns = np.empty(ptr[-1], dtype=np.int64)
    for r in range(bits.shape[0]):
        k = ptr[r]
        for c in range(n_cols):
            if (bits[r, c // LANE_BITS] >> np.uint64(c % LANE_BITS)) & np.uint64(1):
                columns[k] = c
                k += 1
    return ptr, columns


@njit(cache=True)
def _walk(i: int, dptr: np.ndarray, dst: np.ndarray, core_x: np.ndarray, core_y: np.ndarray,
          core_local: np.ndarray, chips_x: int, east: int, west: int, north: int, south: int,
          n_links: int, out: np.ndarray, arrived: np.ndarray, local: np.ndarray,
          touched: np.ndarray) -> int:
    """Source core ``i``'s tree into the per-chip arrays; returns its number of chips.
    Steps go X first, then Y (``routing._path``), over the given link numbers."""
    half = n_links // 2
    sx, sy = core_x[i], core_y[i]
    n = 0
    start = sy * chips_x + sx
    arrived[start] = SOURCE_CHIP
    touched[n] = start
    n += 1
    for k in range(dptr[i], dptr[i + 1]):
        j = dst[k]
        tx, ty = core_x[j], core_y[j]
        chip = ty * chips_x + tx
        if arrived[chip] == NOT_IN_TREE:  # a chip in the tree has its path already
            x, y = sx, sy
            while x != tx or y != ty:
                here = y * chips_x + x
                if x != tx:
                    link = east if tx > x else west
                    x += 1 if tx > x else -1
                else:
                    link = north if ty > y else south
                    y += 1 if ty > y else -1
                out[here] |= 1 << link
                there = y * chips_x + x
                if arrived[there] == NOT_IN_TREE:
                    arrived[there] = (link + half) % n_links
                    touched[n] = there
                    n += 1
        c = core_local[j]
        local[chip, c // LANE_BITS] |= np.uint64(1) << np.uint64(c % LANE_BITS)
    return n


@njit(cache=True)
def trees(dptr: np.ndarray, dst: np.ndarray, core_x: np.ndarray, core_y: np.ndarray,
          core_local: np.ndarray, chips_x: int, chips_y: int, links: tuple[int, int, int, int],
          n_links: int, words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             np.ndarray, np.ndarray]:
    """Every source core's tree: its links (chips - 1) and one entry per chip it passes,
    grouped by chip in (x, y) order and by source core within a chip.

    ``links``: the east, west, north and south link numbers. Returns ``tree_links``,
    ``chip_ptr`` (entries of chip ``x * chips_y + y``), and per entry its source core,
    links-out mask, arrival link (-1 on the source chip) and local-core bit words."""
    n_cores, n_chips = core_x.size, chips_x * chips_y
    east, west, north, south = links
    out = np.zeros(n_chips, dtype=np.int64)
    arrived = np.full(n_chips, NOT_IN_TREE, dtype=np.int64)
    local = np.zeros((n_chips, words), dtype=np.uint64)
    touched = np.empty(n_chips, dtype=np.int64)
    tree_links = np.zeros(n_cores, dtype=np.int64)
    per_chip = np.zeros(n_chips + 1, dtype=np.int64)  # entries per chip, (x, y) order
    for rounds in range(2):  # count, then fill in place
        if rounds == 1:
            chip_ptr = np.zeros(n_chips + 1, dtype=np.int64)
            for c in range(n_chips):
                chip_ptr[c + 1] = chip_ptr[c] + per_chip[c]
            fill = chip_ptr[:-1].copy()
            total = chip_ptr[-1]
            source = np.empty(total, dtype=np.int64)
            out_mask = np.empty(total, dtype=np.int64)
            arrival = np.empty(total, dtype=np.int64)
            local_bits = np.empty((total, words), dtype=np.uint64)
        for i in range(n_cores):
            n = _walk(i, dptr, dst, core_x, core_y, core_local, chips_x, east, west, north,
                      south, n_links, out, arrived, local, touched)
            tree_links[i] = n - 1
            for t in range(n):
                chip = touched[t]
                if dptr[i + 1] > dptr[i]:  # a core without targets has no entries
                    ordered = (chip % chips_x) * chips_y + chip // chips_x
                    if rounds == 0:
                        per_chip[ordered] += 1
                    else:
                        e = fill[ordered]
                        fill[ordered] += 1
                        source[e] = i
                        out_mask[e] = out[chip]
                        arrival[e] = arrived[chip]
                        local_bits[e] = local[chip]
                out[chip] = 0
                arrived[chip] = NOT_IN_TREE
                local[chip] = 0
    return tree_links, chip_ptr, source, out_mask, arrival, local_bits


@njit(cache=True)
def _merged_count(key: np.ndarray, mask: np.ndarray, other_keys: np.ndarray,
                  other_masks: np.ndarray, full: int) -> int:
    """Entries left of one route's ``key``/``mask`` after the greedy pair merging of
    ``routing._merge_group``: entry i takes the first later entry whose cover overlaps no
    other entry, and tries again with the cover. The others are checked in an order that
    moves the last one found overlapping to the front (the next cover usually overlaps it
    too); the answer, whether any overlaps, does not depend on the order."""
    m = key.size
    nxt = np.empty(m, dtype=np.int64)
    for a in range(m):
        nxt[a] = a + 1 if a + 1 < m else -1
    count, i = m, 0
    while i != -1:
        prev, j, merged = i, nxt[i], False
        while j != -1:
            cover_mask = mask[i] & mask[j] & ~(key[i] ^ key[j]) & full
            cover_key = key[i] & cover_mask
            clash = False
            for e in range(other_keys.size):
                if (other_keys[e] ^ cover_key) & other_masks[e] & cover_mask == 0:
                    clash = True
                    other_keys[0], other_keys[e] = other_keys[e], other_keys[0]
                    other_masks[0], other_masks[e] = other_masks[e], other_masks[0]
                    break
            if not clash:
                key[i], mask[i] = cover_key, cover_mask
                nxt[prev] = nxt[j]
                count -= 1
                merged = True
                break
            prev, j = j, nxt[j]
        if not merged:
            i = nxt[i]
    return count


@njit(cache=True)
def compressed_counts(chip_ptr: np.ndarray, keys: np.ndarray, masks: np.ndarray,
                      route: np.ndarray, default: np.ndarray, full: int
                      ) -> np.ndarray:
    """Per chip: entries left after pair compression of its non-default entries, route by
    route (``routing._merge``): the others of a route are every entry of the chip with
    another route, default-routed ones included."""
    n_chips = chip_ptr.size - 1
    left = np.zeros(n_chips, dtype=np.int64)
    for c in range(n_chips):
        lo, hi = chip_ptr[c], chip_ptr[c + 1]
        size = np.zeros(hi - lo, dtype=np.int64)  # members per route, at its first entry
        first = np.full(hi - lo, -1, dtype=np.int64)
        order = np.argsort(route[lo:hi], kind="mergesort")  # entries by route, stably
        for a in range(order.size):
            e = lo + order[a]
            head = lo + order[a - 1] if a and route[lo + order[a - 1]] == route[e] else -1
            first[e - lo] = e if head == -1 else first[head - lo]
            size[first[e - lo] - lo] += not default[e]
        for e in range(lo, hi):
            members = size[e - lo]
            if first[e - lo] != e or members == 0:
                continue
            if members == 1:  # nothing to merge with
                left[c] += 1
                continue
            r = route[e]
            mine = np.empty(members, dtype=np.int64)
            n_mine, n_other = 0, 0
            other_keys = np.empty(hi - lo, dtype=np.int64)
            other_masks = np.empty(hi - lo, dtype=np.int64)
            for f in range(lo, hi):
                if route[f] != r:
                    other_keys[n_other], other_masks[n_other] = keys[f], masks[f]
                    n_other += 1
                elif not default[f]:
                    mine[n_mine] = f
                    n_mine += 1
            left[c] += _merged_count(keys[mine].copy(), masks[mine].copy(),
                                     other_keys[:n_other], other_masks[:n_other], full)
    return left


@njit(cache=True)
def magnitudes(weight: np.ndarray, synapse_type: np.ndarray, post: np.ndarray,
               gains: np.ndarray) -> np.ndarray:
    """``|w| * gains[type, post]`` per synapse (one product each, as numpy's)."""
    out = np.empty(weight.size, dtype=np.float64)
    for s in range(weight.size):
        out[s] = abs(weight[s]) * gains[synapse_type[s], post[s]]
    return out


@njit(cache=True)
def words_of(magnitude: np.ndarray, synapse_type: np.ndarray, scale: np.ndarray,
             limit: int) -> np.ndarray:
    """``min(rint(magnitude * scale[type]), limit)`` as int64 words."""
    words = np.empty(magnitude.size, dtype=np.int64)
    for s in range(magnitude.size):
        word = np.int64(np.rint(magnitude[s] * scale[synapse_type[s]]))
        words[s] = word if word < limit else limit
    return words


@njit(cache=True)
def word_stats(words: np.ndarray, synapse_type: np.ndarray, magnitude: np.ndarray,
               step: np.ndarray, limit: int) -> tuple[int, int, float]:
    """Words rounded to zero, saturated words, and the largest ``|word * step - magnitude|``."""
    zero, saturated, worst = 0, 0, 0.0
    for s in range(words.size):
        word = words[s]
        zero += word == 0
        saturated += word == limit
        error = abs(word * step[synapse_type[s]] - magnitude[s])
        if error > worst:
            worst = error
    return zero, saturated, worst


@njit(cache=True)
def compact(values: np.ndarray, words: np.ndarray) -> int:
    """Move the entries of nonzero ``words`` to the front of ``values`` (in place, in
    order); returns how many."""
    n = 0
    for s in range(words.size):
        if words[s] != 0:
            values[n] = values[s]
            n += 1
    return n


@njit(cache=True)
def csr_table(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, gains: np.ndarray,
              by_sign: bool, fixed_type: int, excitatory: int, inhibitory: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``post, pre, type, |w| * gains[type, post]`` of a CSR projection's nonzero synapses
    in CSR order (a zero weight is no synapse): by sign (negative ``inhibitory``, positive
    ``excitatory``) or all of ``fixed_type``."""
    n = 0
    for s in range(data.size):
        n += data[s] != 0
    post = np.empty(n, dtype=np.int64)
    pre = np.empty(n, dtype=np.int64)
    types = np.empty(n, dtype=np.int64)
    magnitude = np.empty(n, dtype=np.float64)
    k = 0
    for row in range(indptr.size - 1):
        for s in range(indptr[row], indptr[row + 1]):
            w = data[s]
            if w == 0:
                continue
            kind = (inhibitory if w < 0 else excitatory) if by_sign else fixed_type
            post[k], pre[k], types[k] = row, indices[s], kind
            magnitude[k] = abs(w) * gains[kind, row]
            k += 1
    return post, pre, types, magnitude
