"""The objective protocol: what every objective part provides.

An objective maps the network's output for a batch (logits, or the feature
map of the source's feature layer) to one value per image, which the attack
maximises. Everything it needs beyond that it owns:

* :meth:`Objective.prepare`: state computed once from the clean images
  (labels, FIA's importance weights), with whatever forward and backward
  passes it needs through the :class:`fia_tf.attacks.network.Network`;
* :meth:`Objective.start`: the iterate's start point (NRDM adds noise);
* :meth:`Objective.advance`: the state of each iteration, from the state
  before it and the iterate (by default the prepared state throughout;
  ILPD takes the iteration's index, P2FA re-anchors its feature target);
* :attr:`needs_labels`, :attr:`needs_clean`, :attr:`output`,
  :meth:`copies_per_image` (how many copies of each image its preparation
  sends through the network, for sizing memory-bounded passes).

Values must depend on their own image only, so results do not depend on
the batch (the one exception is the original's batch-coupled FDA,
kept for golden comparisons).
"""


class Objective:
  """Base class of objectives; subclasses override what they need.

  Args:
    context: the :class:`fia_tf.attacks.parts.Context` the part is built
      for (config, network, input transform, working-domain scale).
  """
  #: ``'logits'`` (the full model) or ``'features'`` (the prefix up to the
  #: feature layer).
  output = 'logits'
  #: Whether :meth:`__call__` needs the clean image's network output.
  needs_clean = False

  def __init__(self, context):
    self.context = context
    self.config = context.config
    self.network = context.network

  @property
  def needs_labels(self):
    """Whether the attack needs the caller's labels."""
    return False

  def copies_per_image(self):
    """Copies of each image :meth:`prepare` sends through the network."""
    return 0

  def start(self, images, ids):
    """The iterate's start point in pixels (default: the clean images)."""
    del ids
    return images

  def prepare(self, images, labels, ids):
    """State computed once from the clean pixel images; a tuple."""
    del images, labels, ids
    return ()

  def advance(self, state, iterate, ids, t):
    """The state iteration ``t`` uses (default: ``state`` unchanged).

    Called at the start of every iteration, ``t = 0`` included, before
    the iterate's value and gradient; what it returns is passed on to the
    next call, so an objective can carry state across iterations without
    variables (results stay independent of batching and sharding).

    Args:
      state: what :meth:`prepare` returned (``t = 0``) or the previous
        call returned; the result must have the same structure, dtypes
        and shapes (it is a loop variable of the compiled loop).
      iterate: the current adversarial images, float pixels ``[B, H, W,
        C]`` in [0, 255].
      ids: ``[B]`` int64 per-image ids.
      t: the iteration index: a Python int when the loop is unrolled
        (XLA), else a scalar int32 tensor.
    """
    del iterate, ids, t
    return state

  def __call__(self, out, state, clean):
    """Per-image values ``[B]`` from the network output ``out``.

    Args:
      out: logits or features of the (transformed) iterate.
      state: what :meth:`advance` returned for this iteration.
      clean: the clean images' output (through the same input transform
        draw), when :attr:`needs_clean`; else ``None``.
    """
    raise NotImplementedError
