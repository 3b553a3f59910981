"""spec3nb: JWST Stage-3 spectroscopy (calwebb_spec3) as a reactive JupyterLab tool.

Importing the package loads nothing heavy; ``%load_ext spec3nb`` registers the ``%spec3``
and ``%spec3_simulate`` magics (see :mod:`spec3nb.magics`); ``%unload_ext spec3nb``
removes the temporary folders of simulated sessions.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython):
    from spec3nb.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython):
    from spec3nb.magics import unload_ipython_extension as unload

    unload(ipython)
