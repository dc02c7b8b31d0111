"""Where the bundled files live: models, lexicon, LM and G2P model are
looked up by name in $ASR_MODEL_DIR, the installed package's models/ and
the source checkout's models/, in that order."""
import os

from .errors import AsrError

PRECISIONS = ("float", "int16", "int8")


def _repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model_dirs():
    """Where bundled models are looked for, in order: $ASR_MODEL_DIR, the
    installed package's models/, the source checkout's models/."""
    dirs = []
    if os.environ.get("ASR_MODEL_DIR"):
        dirs.append(os.environ["ASR_MODEL_DIR"])
    dirs.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
    dirs.append(os.path.join(_repo_root(), "models"))
    return dirs


def find_model_file(name):
    """Path of a bundled file (model, lexicon, LM), or an AsrError naming
    the places searched."""
    for d in model_dirs():
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise AsrError("bundled file %s not found in %s (set ASR_MODEL_DIR or pass a path)"
                   % (name, ", ".join(model_dirs())))


def default_model_path(precision="int8"):
    if precision not in PRECISIONS:
        raise AsrError("precision must be one of %s, got %r" % (", ".join(PRECISIONS), precision))
    return find_model_file("en-us-%s.asrm" % precision)
