"""Physics processes as Pythia 8 settings: the QCD dijet background, the SM lepton mix, the signals.

Every process is a :class:`ProcessSpec` (a name, a stable truth id, a list of ``readString`` lines),
so the generation loop never branches on physics.  Signals are named by their masses and parsed,
so any mass point works, not only the listed ones:

===========================  =====================================================  ===========
name                          process                                                truth id
===========================  =====================================================  ===========
``qcd_dijet``                 ``HardQCD:all``, pTHat > ``pthat_min_gev``              1
``wjets``                     W + jet (qqbar->Wg, qg->Wq), W -> e nu / mu nu          11
``ttbar_wplus_lep``           ttbar, W+ -> e/mu nu, W- -> anything                   12
``ttbar_wminus_lep``          ttbar, W+ -> hadrons or tau nu, W- -> e/mu nu          12
``singletop``                 t- and s-channel single top, W -> e/mu nu              13
``zjets``                     Z + jet (pure Z, no gamma*), Z -> ee / mumu            14
``wprime_<mA>_<mB>_<mC>``     W'(mA) -> B(mB) C(mC), B -> ud/cs, C -> qq             101
``ssm_wprime_<m>``            SSM W'(m) -> W Z', mZ' = m - 250 GeV, W -> l nu,       102
                              Z' -> qq
``lq_<m>``                    scalar leptoquark pairs (gg, qqbar), LQ -> u e          103
``yxh_<mY>_<mX>``             Y(mY) -> X(mX) H, H -> bb, X -> ud/cs                  104
``yxh_qqq_<mY>_<mX>``         as above, X -> u dbar g (three prongs)                 105
``yxh_hf_<mY>_<mX>``          as above, X -> c bbar (heavy flavour)                  106
``yxh_dark_<mY>_<mX>``        as above, X -> qv qvbar, Pythia HiddenValley shower    107
===========================  =====================================================  ===========

Y -> X H uses Pythia's W' as Y (its generic decay channels work with meMode 100, while a Z' or
H2 with only a new channel has zero width and fails at init) and X as a new charged vector
(9000003) so that charge is conserved; the large-R jets do not see the charges. The dark-shower
X decays to hidden-valley quarks (SU(3), one flavour, Lambda = 10 GeV, dark pions/rhos of
20 GeV decaying back to d dbar): that decay cannot carry X's charge, so Pythia's event check is
off for that sample only.

The two ttbar entries split "at least one W -> e/mu nu" into disjoint halves because Pythia's
``onPosIfAny`` followed by ``onNegIfAny`` on the same channel keeps only the last side (verified:
init fails with "vanishing cross sections"); the split sets per-channel ``onMode`` instead.
Pythia multiplies the cross-section by the open fractions of resonance decays, including the W
inside top decays (checked: sigma(W+ had, W- lep) = sigma(ttbar) * 0.783 * 0.217), so
``sigmaGen`` is directly the cross-section of what is written.

The lepton-sample cuts are ``lepton_pthat_min_gev`` (default 100 GeV on the boson or top pT of
the 2 -> 2 hard process, which guarantees a recoiling jet) and a process-level veto (a Pythia
``UserHooks``) of hard processes without an e or mu above ``lepton_min_pt_gev`` (default
50 GeV); Pythia lowers ``sigmaGen`` by the vetoed fraction, so cross-sections stay those of the
written events.  After showering and detector response about 3/4 of the events have a
reconstructed e or mu with pT > 60 GeV.  The tW channel is left out (two W, same split problem).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from adsearch.errors import ConfigError

__all__ = [
    "ProcessSpec",
    "NAMED_SIGNALS",
    "LEPTON_SM_PROCESSES",
    "qcd_dijet",
    "lepton_sm_processes",
    "signal_process",
    "signal_kind",
    "YXH_TOPOLOGIES",
]

#: Signal points the seeds name; any other mass point of the same families also parses.
NAMED_SIGNALS: dict[str, tuple[str, ...]] = {
    "dijet": (
        "wprime_3000_80_80",
        "wprime_3000_200_200",
        "wprime_3000_400_400",
        "wprime_3000_400_80",
        "wprime_5000_200_200",
        "wprime_3500_500_100",
    ),
    "lepton": ("ssm_wprime_2000", "ssm_wprime_3000", "lq_1000", "lq_1500"),
}
#: Y -> X H points (the published largest excess: mX ~ 85 GeV, mY ~ 3.7 TeV), one per X topology.
NAMED_SIGNALS["dijet"] += ("yxh_3700_85", "yxh_2000_100", "yxh_qqq_2000_100", "yxh_hf_2000_100", "yxh_dark_2000_100")
#: X decay channels (meMode 100) by topology of ``yxh_[topology_]<mY>_<mX>``.
YXH_TOPOLOGIES: dict[str, tuple[str, ...]] = {
    "qq": ("9000003:oneChannel = 1 0.5 100 2 -1", "9000003:addChannel = 1 0.5 100 4 -3"),
    "qqq": ("9000003:oneChannel = 1 1.0 100 2 -1 21",),
    "hf": ("9000003:oneChannel = 1 1.0 100 4 -5",),
    "dark": ("9000003:oneChannel = 1 1.0 100 4900101 -4900101", "Check:event = off",
             "HiddenValley:Ngauge = 3", "HiddenValley:nFlav = 1", "HiddenValley:FSR = on",
             "HiddenValley:fragment = on", "HiddenValley:alphaOrder = 1", "HiddenValley:Lambda = 10",
             "HiddenValley:pTminFSR = 11", "4900101:m0 = 10", "4900111:m0 = 20", "4900113:m0 = 20"),
}

LEPTON_SM_PROCESSES: tuple[str, ...] = ("wjets", "ttbar_wplus_lep", "ttbar_wminus_lep", "singletop", "zjets")

_W_TO_E_MU = ["24:onMode = off", "24:onIfAny = 11 13"]
#: W decay-table rows with e nu and mu nu (Pythia 8.3 table; checked against particleData in tests).
_W_E_MU_CHANNELS = (6, 7)
_W_N_CHANNELS = 9


@dataclass(frozen=True)
class ProcessSpec:
    """One Pythia configuration: what to switch on, and how to label its events."""

    name: str
    truth_id: int
    is_signal: bool
    settings: tuple[str, ...]
    description: str
    params: dict[str, float] = field(default_factory=dict)
    #: Process-level filter: veto hard processes without an e or mu above this pT (0 = off).
    lepton_min_pt_gev: float = 0.0


def qcd_dijet(pthat_min_gev: float) -> ProcessSpec:
    """QCD 2 -> 2 above a pTHat threshold (the dijet background)."""
    return ProcessSpec(
        name="qcd_dijet",
        truth_id=1,
        is_signal=False,
        settings=("HardQCD:all = on", f"PhaseSpace:pTHatMin = {pthat_min_gev:g}"),
        description=f"QCD 2->2 (HardQCD:all), pTHat > {pthat_min_gev:g} GeV",
        params={"pthat_min_gev": pthat_min_gev},
    )


def _ttbar_split(wplus_leptonic: bool) -> tuple[str, ...]:
    """Per-channel W onMode: 1 = both charges, 2 = W+ only, 3 = W- only."""
    lines = []
    for channel in range(_W_N_CHANNELS):
        is_lep = channel in _W_E_MU_CHANNELS
        if wplus_leptonic:
            mode = 1 if is_lep else 3  # W+ -> e/mu only; W- -> everything
        else:
            mode = 3 if is_lep else 2  # W- -> e/mu only; W+ -> hadrons or tau
        lines.append(f"24:{channel}:onMode = {mode}")
    return tuple(lines)


def lepton_sm_processes(pthat_min_gev: float, lepton_min_pt_gev: float) -> list[ProcessSpec]:
    """The SM processes with a real prompt e or mu: pTHat > ``pthat_min_gev`` and a hard-process
    (before QED showering) e or mu with pT > ``lepton_min_pt_gev``."""
    cut = f"PhaseSpace:pTHatMin = {pthat_min_gev:g}"
    top = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", cut)
    specs = [
        ProcessSpec("wjets", 11, False,
                    ("WeakBosonAndParton:qqbar2Wg = on", "WeakBosonAndParton:qg2Wq = on", cut, *_W_TO_E_MU),
                    f"W+jet, W -> e/mu nu, pTHat > {pthat_min_gev:g} GeV"),
        ProcessSpec("ttbar_wplus_lep", 12, False, top + _ttbar_split(True),
                    f"ttbar, W+ -> e/mu nu, W- -> any, pTHat > {pthat_min_gev:g} GeV"),
        ProcessSpec("ttbar_wminus_lep", 12, False, top + _ttbar_split(False),
                    f"ttbar, W+ -> had/tau, W- -> e/mu nu, pTHat > {pthat_min_gev:g} GeV"),
        ProcessSpec("singletop", 13, False,
                    ("Top:qq2tq(t:W) = on", "Top:ffbar2tqbar(s:W) = on", cut, *_W_TO_E_MU),
                    f"single top t+s channel, W -> e/mu nu, pTHat > {pthat_min_gev:g} GeV"),
        ProcessSpec("zjets", 14, False,
                    ("WeakBosonAndParton:qqbar2gmZg = on", "WeakBosonAndParton:qg2gmZq = on",
                     "WeakZ0:gmZmode = 2", "23:onMode = off", "23:onIfAny = 11 13", cut),
                    f"Z+jet, Z -> ee/mumu, pTHat > {pthat_min_gev:g} GeV"),
    ]
    return [replace(spec, lepton_min_pt_gev=lepton_min_pt_gev,
                    description=f"{spec.description}, hard e/mu pT > {lepton_min_pt_gev:g} GeV") for spec in specs]


def _wprime_abc(m_a: float, m_b: float, m_c: float) -> tuple[str, ...]:
    """W'(mA) -> B+(mB) C0(mC) with new particles, so SM W and Z keep their masses.

    B is charged (a heavy W-like vector, -> u dbar / c sbar), C neutral (Z-like, -> q qbar).
    Widths are 1% of the masses; the W' window [0.8, 1.2] mA removes the PDF-enhanced
    low-mass tail of the ~4% wide SSM W'.
    """
    b_win = f"{m_b:g} {0.01 * m_b:g} {0.5 * m_b:g} {1.5 * m_b:g} 0"
    c_win = f"{m_c:g} {0.01 * m_c:g} {0.5 * m_c:g} {1.5 * m_c:g} 0"
    return (
        "NewGaugeBoson:ffbar2Wprime = on",
        f"34:m0 = {m_a:g}", f"34:mMin = {0.8 * m_a:g}", f"34:mMax = {1.2 * m_a:g}",
        "Wprime:coup2WZ = 1",
        f"9000001:new = Bres+ Bres- 3 3 0 {b_win}",
        "9000001:isResonance = on",
        "9000001:oneChannel = 1 0.5 100 2 -1",
        "9000001:addChannel = 1 0.5 100 4 -3",
        f"9000002:new = Cres0 void 3 0 0 {c_win}",
        "9000002:isResonance = on",
        "9000002:oneChannel = 1 0.2 100 1 -1",
        "9000002:addChannel = 1 0.2 100 2 -2",
        "9000002:addChannel = 1 0.2 100 3 -3",
        "9000002:addChannel = 1 0.2 100 4 -4",
        "9000002:addChannel = 1 0.2 100 5 -5",
        "34:onMode = off",
        "34:addChannel = 1 1.0 100 9000001 9000002",
    )


def _yxh(m_y: float, m_x: float, topology: str) -> tuple[str, ...]:
    """Y(mY) -> X(mX) H with H -> bb; Y is Pythia's W' (window [0.8, 1.2] mY), X a new vector."""
    x_win = f"{m_x:g} {0.01 * m_x:g} {0.5 * m_x:g} {1.5 * m_x:g} 0"
    return (
        "NewGaugeBoson:ffbar2Wprime = on",
        f"34:m0 = {m_y:g}", f"34:mMin = {0.8 * m_y:g}", f"34:mMax = {1.2 * m_y:g}",
        "Wprime:coup2WZ = 1",
        f"9000003:new = Xres+ Xres- 3 3 0 {x_win}",
        "9000003:isResonance = on",
        *YXH_TOPOLOGIES[topology],
        "25:onMode = off", "25:onIfAny = 5",
        "34:onMode = off",
        "34:addChannel = 1 1.0 100 25 9000003",
    )


def _ssm_wprime(m_wprime: float) -> tuple[str, ...]:
    """SSM W' -> W Z' with mZ' = mW' - 250 GeV, W -> e/mu nu, Z' -> quarks."""
    m_zprime = m_wprime - 250.0
    return (
        "NewGaugeBoson:ffbar2Wprime = on",
        f"34:m0 = {m_wprime:g}", f"34:mMin = {0.8 * m_wprime:g}", f"34:mMax = {1.2 * m_wprime:g}",
        "Wprime:coup2WZ = 1",
        "34:onMode = off",
        "34:addChannel = 1 1.0 100 24 32",
        f"32:m0 = {m_zprime:g}", f"32:mMin = {0.5 * m_zprime:g}", f"32:mMax = {1.5 * m_zprime:g}",
        "32:onMode = off", "32:onIfAny = 1 2 3 4 5",
        *_W_TO_E_MU,
    )


def _leptoquark(m_lq: float) -> tuple[str, ...]:
    """Scalar leptoquark pairs (Pythia's LQ_ue: LQ -> u e), so the final state is e q e q."""
    return ("LeptoQuark:gg2LQLQbar = on", "LeptoQuark:qqbar2LQLQbar = on", f"42:m0 = {m_lq:g}",
            f"42:mMin = {0.5 * m_lq:g}", f"42:mMax = {1.5 * m_lq:g}")


_SIGNAL_PATTERNS = {
    "dijet": re.compile(r"^wprime_(\d+)_(\d+)_(\d+)$"),
    "ssm": re.compile(r"^ssm_wprime_(\d+)$"),
    "lq": re.compile(r"^lq_(\d+)$"),
    "yxh": re.compile(r"^yxh_(?:(qqq|hf|dark)_)?(\d+)_(\d+)$"),
}
_YXH_TRUTH_IDS = {"qq": 104, "qqq": 105, "hf": 106, "dark": 107}


def signal_kind(name: str) -> str:
    """Which sample kind (``dijet`` or ``lepton``) a signal name belongs to."""
    if _SIGNAL_PATTERNS["dijet"].match(name) or _SIGNAL_PATTERNS["yxh"].match(name):
        return "dijet"
    if _SIGNAL_PATTERNS["ssm"].match(name) or _SIGNAL_PATTERNS["lq"].match(name):
        return "lepton"
    raise ConfigError(_unknown_signal_message(name))


def _unknown_signal_message(name: str) -> str:
    known = ", ".join(n for names in NAMED_SIGNALS.values() for n in names)
    return (f"unknown signal {name!r}: use wprime_<mA>_<mB>_<mC> or yxh_[qqq_|hf_|dark_]<mY>_<mX> (dijet), "
            "ssm_wprime_<m> or lq_<m> "
            f"(lepton), masses in GeV; named points: {known}")


def signal_process(name: str) -> ProcessSpec:
    """Parse a signal name into Pythia settings; masses are checked for kinematic sense."""
    if match := _SIGNAL_PATTERNS["dijet"].match(name):
        m_a, m_b, m_c = (float(x) for x in match.groups())
        if min(m_a, m_b, m_c) <= 0 or m_b + m_c >= 0.8 * m_a:
            raise ConfigError(f"signal {name!r}: need mB + mC < 0.8 mA and positive masses")
        return ProcessSpec(name, 101, True, _wprime_abc(m_a, m_b, m_c),
                           f"W'({m_a:g}) -> B({m_b:g}) C({m_c:g}), B,C -> qq",
                           {"m_a_gev": m_a, "m_b_gev": m_b, "m_c_gev": m_c})
    if match := _SIGNAL_PATTERNS["yxh"].match(name):
        topology = match.group(1) or "qq"
        m_y, m_x = float(match.group(2)), float(match.group(3))
        if m_x <= 0 or m_x + 125.0 >= 0.8 * m_y:
            raise ConfigError(f"signal {name!r}: need 0 < mX and mX + mH(125) < 0.8 mY")
        return ProcessSpec(name, _YXH_TRUTH_IDS[topology], True, _yxh(m_y, m_x, topology),
                           f"Y({m_y:g}) -> X({m_x:g}) H, H -> bb, X -> {topology}",
                           {"m_y_gev": m_y, "m_x_gev": m_x})
    if match := _SIGNAL_PATTERNS["ssm"].match(name):
        m_w = float(match.group(1))
        if m_w < 600:
            raise ConfigError(f"signal {name!r}: need mW' >= 600 GeV so that mZ' = mW' - 250 > mW")
        return ProcessSpec(name, 102, True, _ssm_wprime(m_w),
                           f"SSM W'({m_w:g}) -> W Z'({m_w - 250:g}) -> l nu q q",
                           {"m_wprime_gev": m_w, "m_zprime_gev": m_w - 250.0})
    if match := _SIGNAL_PATTERNS["lq"].match(name):
        m_lq = float(match.group(1))
        if m_lq < 100:
            raise ConfigError(f"signal {name!r}: leptoquark mass must be >= 100 GeV")
        return ProcessSpec(name, 103, True, _leptoquark(m_lq),
                           f"scalar LQ pairs ({m_lq:g}) -> e q e q", {"m_lq_gev": m_lq})
    raise ConfigError(_unknown_signal_message(name))
