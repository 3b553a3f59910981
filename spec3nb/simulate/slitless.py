"""Simulators of the slitless modes: NIRISS SOSS, NIRISS WFSS and NIRCam WFSS.

The registry in :mod:`spec3nb.simulate` calls :func:`simulate_nis_soss`,
:func:`simulate_nis_wfss` and :func:`simulate_nrc_wfss` with a
:class:`~spec3nb.simulate.dataset.SimConfig`. The geometry and products are built in
:mod:`spec3nb.simulate.wfss` (one ``MultiSlitModel`` per exposure, one cutout per source
and spectral order) and :mod:`spec3nb.simulate.soss` (one ``CubeModel`` per exposure with
the curved traces of orders 1 and 2).
"""

from __future__ import annotations

from spec3nb.simulate import soss, wfss
from spec3nb.simulate.dataset import SimConfig, SimulatedDataset


def simulate_nis_wfss(config: SimConfig, *, grism: str = "GR150R") -> SimulatedDataset:
    """Simulate NIRISS WFSS (``NIS_WFSS``) with F150W, orders 1 and 2.

    Parameters
    ----------
    config : SimConfig
        What to simulate (size, seed, exposures, sources, moving target).
    grism : str
        ``GR150R`` (dispersion along y, ``DISPAXIS = 2``) or ``GR150C`` (along x).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` exposures and the truth.
    """
    return wfss.simulate_wfss(config, wfss.niriss_setup(grism))


def simulate_nrc_wfss(config: SimConfig, *, module: str = "A") -> SimulatedDataset:
    """Simulate NIRCam WFSS (``NRC_WFSS``), GRISMR with F444W, order 1.

    Parameters
    ----------
    config : SimConfig
        What to simulate.
    module : str
        ``A`` or ``B`` (long-wave detector ``NRCALONG`` or ``NRCBLONG``).

    Returns
    -------
    SimulatedDataset
        The ``_cal`` exposures and the truth.
    """
    return wfss.simulate_wfss(config, wfss.nircam_setup(module))


def simulate_nis_soss(config: SimConfig) -> SimulatedDataset:
    """Simulate NIRISS SOSS (``NIS_SOSS``, not TSO): orders 1 and 2 on curved traces.

    Parameters
    ----------
    config : SimConfig
        What to simulate (size, seed, exposures, moving target).

    Returns
    -------
    SimulatedDataset
        One ``CubeModel`` per exposure and the truth.
    """
    return soss.simulate_soss(config)


__all__ = ["simulate_nis_soss", "simulate_nis_wfss", "simulate_nrc_wfss"]
