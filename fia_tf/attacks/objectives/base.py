"""The objective protocol: what every objective part provides.

An objective maps the network's output for a batch (logits, or the feature
map of the source's feature layer) to one value per image, which the attack
maximises. Everything it needs beyond that it owns:

* :meth:`Objective.prepare`: state computed once from the clean images
  (labels, FIA's importance weights), with whatever forward and backward
  passes it needs through the :class:`fia_tf.attacks.network.Network`;
* :meth:`Objective.start`: the iterate's start point (NRDM adds noise);
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

  def __call__(self, out, state, clean):
    """Per-image values ``[B]`` from the network output ``out``.

    Args:
      out: logits or features of the (transformed) iterate.
      state: what :meth:`prepare` returned.
      clean: the clean images' output (through the same input transform
        draw), when :attr:`needs_clean`; else ``None``.
    """
    raise NotImplementedError
