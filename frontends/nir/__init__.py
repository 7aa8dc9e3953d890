"""NIR frontend: read and write ``.nir`` files (docs section, copied to ``docs/``).

Read
    ``read_nir(path_or_graph, dt_s=None, *, allow_newer_version=False,
    read_timeout_s=None)`` (also ``neurocc.load(path, **options)``) reads any
    file written by nir 1.0.x (or takes a ``nir.NIRGraph``) and lowers it to a
    verified :class:`Graph`.
    Supported node types: Input, Output, NIRGraph (nested), Affine, Linear,
    Scale, Conv1d, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay, LIF, CubaLIF,
    IF, LI, I, Threshold. Anything else (CubaLI, Identity, ...) is a
    ``FrontendError`` naming the file, the node and its type. The HDF5 tree is
    read directly (not with ``nir.read``) so nested graphs need no type check,
    and every problem (missing or truncated file, missing parameter, NaN or
    infinite value, shape mismatch, unknown edge end) names file and node.
    Files are untrusted input (below).

Versions
    The root dataset ``version`` decides the reset of LIF, CubaLIF and IF:
    up to 1.0.5 a spike subtracts the threshold (reset ``"subtract"``); from
    1.0.6 the neuron resets to ``v_reset`` (``"to_value"``). The presence of
    ``v_reset`` is never used (nir 1.0.8 fills zeros into legacy files). A
    graph object uses ``nir.version``, unless its metadata carries
    ``nir_version`` (our writer sets it for subtract graphs). A file without a
    version string is refused, and so is a string that is not a whole version
    number (``1.0.8``, ``0.2``, ``1.0.6rc1``, ``1.0.7.dev3+g1a2b`` are;
    ``1.0.8garbage``, ``latest``, ``""`` are not). A version newer than 1.0.8,
    the newest whose semantics the reader implements, is refused with an error
    naming both (1.0.6 showed that a release can change what an unchanged file
    means): ``allow_newer_version=True`` reads it with 1.0.8 semantics and
    records ``nir_version_read_as: "1.0.8"`` in ``graph.metadata``.
    ``graph.metadata`` records ``nir_version``, ``reset_semantics``,
    ``source``, ``source_sha256`` (``None`` for objects) and ``dt_source``.

Untrusted files
    Reading never hangs and raises nothing but ``FrontendError``, whatever the
    file holds. The HDF5 tree is read by a child process (``python -I`` running
    ``frontends/nir/hdf5_tree.py``: numpy and h5py, not neurocc), reused for
    later reads: on some corrupted files the HDF5 library loops forever inside
    ``dataset[()]`` (``nir.read`` too), and only killing the process that runs
    the loop ends it. If the child does not answer within ``read_timeout_s``
    (default 20 s, or the environment variable ``NEUROCC_NIR_READ_TIMEOUT_S``)
    it is killed, and the error names the file, says the HDF5 library did not
    finish (corrupted metadata) and how to allow more time. A child killed by
    a signal (a crash of the library) is an error too. The next read starts a
    new child. The child isolates hangs and crashes; it is not a security
    sandbox. Cost on ``examples/digits/digits_lif.nir`` (88 kB, medians on a
    shared 2-core machine): the first read of a process starts the child,
    0.15-0.2 s; every later read takes 15 ms through the child against
    13-14 ms in-process (``read_nir`` in all: 19 ms). ``subprocess``, not
    ``multiprocessing``: its 'spawn' and 'forkserver' contexts fix the
    parent's default start method when they start a child (Lava later sets
    'fork') and re-import the user's script in the child (a script without a
    ``__main__`` guard would fail); ``fork`` is unsafe with threads.

    Before a dataset is read, its header is checked: hard links only (soft and
    external links are refused: an external link would read a file the user
    did not name); at most 64 nested groups and 100 000 objects (hard-link
    cycles); numbers or text only (complex, compound, reference and empty
    datasets are refused); a declared size (values times stored type size)
    within the file's size, or 1032 times it for a compressed dataset
    (deflate's largest ratio), at most 2^30 values and 4 GiB, with all
    datasets together in the same budget: a header declaring 10^12 values in
    a 30 kB file is refused before anything is allocated. Text must be UTF-8.
    Every error names the file and the HDF5 object (``model.nir, HDF5 object
    '/node/nodes/fc/type': holds text that is not UTF-8 (byte 2:
    b'\\xff')``). While lowering, shapes must be positive whole numbers with
    at most 2^24 values per signal (a population or a map's output, checked
    before its matrix is built); dims, strides, paddings, dilations and groups
    whole numbers up to 2^31 - 1; parameters finite; at most 10 000 synaptic
    paths (branches that join again multiply them).

    ``tests/frontends/test_nir_fuzz.py`` loads mutated copies of the digits
    model and of small models written by nir (compressed and not), and
    compiles and simulates every one that loads: truncation, bit flips,
    zeroed and random byte ranges (three times in four in the HDF5 metadata,
    where the hangs are), appended bytes, and structural edits through h5py
    (deleted objects, other dtypes and shapes, invalid UTF-8, version
    strings, nesting 3 to 100 graphs deep, soft and external links, a
    10^12-value header, a group turned into a dataset). Each case must end in
    a Graph that compiles and runs, or in a ``NeuroccError``: 150 cases in the
    default suite (about 20 s), 2000 more with ``-m slow``. Campaigns by
    hand, 10 300 cases at a 5 s deadline, found 23 files on which plain h5py
    and ``nir.read`` never return (each in ``dataset[()]`` on ``/node/edges``,
    a variable-length string array whose global heap the mutation damaged):
    all ended in the deadline error; five are kept in
    ``tests/frontends/fuzz_cases/``. The first 4300 cases also found 17 files
    that raised other exceptions (RecursionError on a long-double scalar,
    AttributeError on ``nodes`` stored as a dataset, TypeError and a numpy
    DeprecationWarning on one-element arrays where scalars belong), all fixed
    since; the last 6000 (2735 graphs, 3252 errors, 13 timeouts: 12 hangs and
    one file whose error takes 1.2 s alone) found none.

Time step
    NIR has no time step. ``dt_s`` is the argument if given, else the graph
    metadata key ``dt`` (or ``dt_s``), else 1e-3 s (``dt_source`` says which).
    NIR time constants and delays are in seconds; delays become
    ``round(delay / dt_s)`` steps.

Lowering
    Input and neuron nodes become populations (LIF -> lif, CubaLIF -> cubalif,
    IF -> if, LI -> li, I -> integrator, Threshold -> threshold), parameters
    flattened in C order, scalars broadcast, the neuron shape kept. Nested
    graphs are inlined with dotted names (``sub.lif``); edges may address a
    node inside a subgraph (``g.bi``) or the subgraph itself (its single
    Input/Output); inner Input/Output nodes are identity hops. Every path of
    synaptic nodes (Affine, Linear, Scale, Conv1d/2d, SumPool2d, AvgPool2d,
    Flatten, Delay) between two population nodes is one projection (paths into
    one population sum) with the product of the linear maps as weight: dense
    for Affine/Linear paths, CSR otherwise (convolution and pooling follow
    PyTorch: padding ints, 'same' with the odd pixel after, 'valid', stride,
    dilation, groups; AvgPool2d counts padding). A neuron feeding a neuron is
    an identity projection. Affine and convolution biases, carried through the
    rest of the path, add to the target's ``bias`` once per biased node and
    path suffix (a node fed by several paths adds its bias once). Delays become
    per-synapse steps; a later map summing different delays into one synapse is
    an error naming the Delay node. Recurrence: a depth-first walk from the
    inputs (node order, successors in edge order, then unreached populations
    in node order) marks projections reaching a population still on the stack;
    those get one more delay step (NIR producers feed back the previous step).
    An Output fed directly by exactly one neuron node names that population in
    ``graph.outputs``; otherwise an ``output`` population named after the Output
    node is created. Projections are named after the first weighted node of
    their path (Affine, Linear, Scale, Conv), else ``"src->dst"``; repeats get
    ``#1``, ``#2``. Metadata keeps each path's node types, names and
    hyper-parameters (no weight arrays).

Receptors
    NIR has no receptors (input ports), and nir 1.0.8 gives every node an
    optional ``metadata`` dict that ``nir.write`` stores as an HDF5 group and
    ``nir.read`` restores. A synaptic node of a path may name the receptor of
    the target that the path feeds there: ``metadata={"neurocc.receptor":
    NAME}``; the projection gets ``receptor = NAME``. Nodes of one path that
    name different receptors, or a name the target's model lacks, raise
    ``FrontendError`` naming the file, the node and the target's receptors.
    Paths without the key feed the target model's single receptor
    (``current``), so every file without it loads as before. The writer puts
    an explicit receptor on the path's weighted node (Affine, Linear, Scale,
    Conv), else on its last node; a neuron feeding a neuron directly gets a
    ``Scale`` of ones to carry it. Projections with the default receptor get
    no metadata. Every NIR neuron type has the single receptor, so from NIR
    files the key can only name ``current``; ``lif_cur_exp`` (two receptors)
    has no NIR node and the writer refuses it (below).

Write
    ``graph_to_nir(graph)`` / ``write_nir(graph, path)`` re-create NIR nodes
    from that metadata: kernels are re-derived from the CSR matrix, a path
    with one weighted node and value-preserving nodes after it (Flatten,
    Delay) and fixed maps before it (pooling, Flatten) is written node by node
    when re-composing it gives the same matrix; otherwise (pruned kernels,
    paths with several weighted nodes, graphs from other frontends) the path
    is written as one Linear (Affine when it carries bias) with the dense
    weight. A population's bias is written whole on the first incoming path
    that can carry it (an Affine, a Linear turned Affine, or a convolution
    when the bias is constant per channel); other Affines get zero bias, so
    biases summed from several Affines come back summed on the first. If no
    path can carry it, the first incoming path is written as an Affine.
    Delays: uniform or per-target/per-source delays become Delay nodes
    (``steps * dt_s`` seconds); back edges are written with one step less;
    per-synapse delays that vary otherwise, or a back edge without delay,
    raise ``FrontendError``. Nested graphs are written flat with their dotted
    names. ``dt`` goes into the graph metadata. Reset: a graph whose spiking
    populations all subtract is written as a legacy file (version string
    ``1.0.5``, no ``v_reset`` datasets; ``graph_to_nir`` records
    ``nir_version: "1.0.5"`` in the graph metadata); mixing subtract with
    to_value raises ``FrontendError``. A population of a model NIR has no node
    for (``lif_cur_exp``) raises ``FrontendError`` naming it, before anything
    is written: keep such graphs as neurocc artifacts.
"""

from neurocc.frontends.nir.reader import read_nir
from neurocc.frontends.nir.writer import graph_to_nir, write_nir

__all__ = ["graph_to_nir", "read_nir", "write_nir"]
