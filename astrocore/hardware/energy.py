"""Energy per forward pass and per training step: a parametric sum, every constant an assumption.

No simulator gives picojoules per operation (ALGORITHMS.md section 6), so this
module adds up operation counts times per-operation energies, each energy a
named field of :class:`EnergyAssumptions` with its unit and source. The
numbers are estimates from those assumptions, not measurements: change a field
and every total follows.

Technologies (:func:`technology` maps a :class:`HardwareModel` onto one)
    ``fp32``: the digital reference (the ``ideal`` preset): fp32 multiply-add
    per weight and one 32-bit SRAM read per weight. ``int8``: an 8-bit digital
    accelerator (``digital8``): 8-bit multiply-add and 8-bit SRAM reads.
    ``pcm`` and ``rram``: an analog crossbar, the weights stored as cell
    conductances, converters at the crossbar edges.

A network of ``sizes = (n_0, n_1, ..., n_L)`` has layers ``l = 1..L`` with
``rows_l = n_{l-1} + 1`` (the bias row, driven by a constant input 1) and
``cols_l = n_l``; ``N = sum_l rows_l cols_l`` parameters.

Forward pass of one sample, per layer
    analog: ``E = rows cols E_cell + cols E_ADC(adc_bits) + rows E_DAC(dac_bits)``
    with ``E_ADC(b) = FOM 2^b`` (Walden figure of merit) and
    ``E_DAC(b) = b E_DAC,bit``; digital: ``E = rows cols (E_mul + E_add +
    E_read)``, one multiply-add and one SRAM read of a weight per MAC (no reuse
    of a weight across the samples of a batch, an upper bound).

Backprop training step (batch ``B``)
    per sample: the forward pass, the delta propagation through layers
    ``2..L`` (a transposed pass: ``rows cols E_cell + rows E_ADC + cols
    E_DAC``; digital: ``rows cols`` MACs and weight reads) and the weight
    gradient of every layer (analog: an outer-product pass driving rows and
    columns, ``rows cols E_cell + (rows + cols) E_DAC``, as in the parallel
    pulse update of Gokmen and Vlasov, Front. Neurosci. 10, 333, 2016;
    digital: ``rows cols`` MACs and accumulator accesses); then ``N`` parameter
    updates per step (plain SGD; the batch's gradient written once).

MGD training step (discrete mode, ``tau_p = 1``)
    ``B`` perturbed forward passes, plus the reference ``C0 = C(theta)``
    measured once per input: ``B / tau_x`` more forward passes per step
    (``highpass=True``, analog mode, filters ``C`` instead and measures no
    ``C0``); ``N`` local operations per step (a new perturbation bit and one
    integration of ``C~ theta~_i`` per parameter; digital: two adds, for
    ``theta + theta~`` and ``G_int += C~ theta~``, and the accumulator read and
    written); ``N / tau_theta`` parameter updates per step. On analog cells
    the perturbation is applied by the per-parameter circuit beside the cell
    (e.g. an additive current), not by reprogramming it: if it had to be
    written, every step would cost ``N`` cell writes.

Left out (each under about 1 % of a pass here, or the same for both methods):
the activation functions, the cost and its derivative at the outputs, the
optimiser's extra state (Adam's moments), control, clocking, data movement
beyond the weight reads, leakage and the converters' reference circuits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..nets import SIZES
from ..validation import POSITIVE_INT, Bool, Choice, InstanceOf, Real, validate_params
from .model import _IDEAL, HARDWARE, HardwareModel, _as_model
from .quantizer import BITS

METHODS = ("mgd", "backprop")
TECHNOLOGIES = ("fp32", "int8", "pcm", "rram")
ANALOG = ("pcm", "rram")
FORWARD_COMPONENTS = ("cells", "adc", "dac", "arithmetic", "memory")
TRAINING_COMPONENTS = FORWARD_COMPONENTS + ("local", "update")
HOROWITZ = "Horowitz, ISSCC 2014, 45 nm"


def _constant(value: float, unit: str, source: str):
    return field(default=value, metadata={"unit": unit, "source": source})


@dataclass(frozen=True)
class EnergyAssumptions:
    """Every energy constant of the estimate, in pJ per operation (metadata: unit, source).

    Digital (Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V)
        ``fp32_mul`` 3.7 pJ, ``fp32_add`` 0.9 pJ, ``int8_mul`` 0.2 pJ,
        ``int8_add`` 0.03 pJ; ``sram_read_32bit`` 5 pJ: a 64-bit read from an
        8 KB SRAM costs 10 pJ, so 5 pJ per 32-bit word; an 8-bit read is
        taken as a quarter of it (linear in the word width), and an SRAM write
        as costing the same as a read.
    Analog crossbar
        ``cell_read`` 0.004 pJ: ``V^2 G t`` with read voltage V = 0.2 V, cell
        conductance G = 10 uS and integration time t = 10 ns (4 fJ);
        ``adc_fom`` 0.02 pJ per conversion step: the Walden figure of merit in
        ``E_ADC(b) = FOM 2^b``, 20 fJ/step, mid-range of the SAR ADCs at
        0.1-1 GS/s in Murmann's ADC performance survey 1997-2024 (the best
        low-speed designs reach ~1 fJ/step; ISAAC's 8-bit 1.28 GS/s ADC, Shafiee
        et al., ISCA 2016, is ~50 fJ/step); ``dac_per_bit`` 0.01 pJ: a DAC
        conversion linear in the bits, ``E_DAC(b) = b x 10 fJ``, an
        order-of-magnitude assumption for a row driver charging a row line
        (C ~ 128 fF for a 128-cell row, V = 0.2 V: C V^2 ~ 5 fJ per level
        transition), a small term here; ``pcm_write`` 30 pJ per programming
        pulse (PCM SET/RESET pulses of scaled cells cost ~10-100 pJ: Burr et al.,
        IEEE JETCAS 6, 146, 2016; Wong et al., Proc. IEEE 98, 2201, 2010;
        the geometric middle); ``rram_write`` 3 pJ per pulse (HfOx RRAM
        switching ~1-10 pJ: Wong et al., Proc. IEEE 100, 1951, 2012; Yu, Proc.
        IEEE 106, 260, 2018; the geometric middle).
    MGD's local circuit, per parameter and step
        ``perturbation_bit`` 0.005 pJ: one bit of a linear-feedback shift
        register (a flip-flop toggle and an XOR in 45 nm, a few fJ);
        ``analog_integrator`` 0.01 pJ: one integration of ``C~ theta~_i`` on
        an analog integrator, ``C V^2`` with C = 250 fF and V = 0.2 V (10 fJ).
    """

    fp32_mul: float = _constant(3.7, "pJ", HOROWITZ)
    fp32_add: float = _constant(0.9, "pJ", HOROWITZ)
    int8_mul: float = _constant(0.2, "pJ", HOROWITZ)
    int8_add: float = _constant(0.03, "pJ", HOROWITZ)
    sram_read_32bit: float = _constant(5.0, "pJ", HOROWITZ + ": 8 KB SRAM, 10 pJ per 64 bits; 8-bit read = 1/4, "
                                       "write = read")
    cell_read: float = _constant(0.004, "pJ", "V^2 G t, V = 0.2 V, G = 10 uS, t = 10 ns")
    adc_fom: float = _constant(0.02, "pJ per conversion step", "Walden FOM, E_ADC(b) = FOM 2^b; Murmann ADC survey "
                               "(SAR, 0.1-1 GS/s)")
    dac_per_bit: float = _constant(0.01, "pJ per bit", "E_DAC(b) = b x 10 fJ; row driver C V^2, order of magnitude")
    pcm_write: float = _constant(30.0, "pJ per pulse", "PCM 10-100 pJ (Burr et al. 2016; Wong et al. 2010)")
    rram_write: float = _constant(3.0, "pJ per pulse", "RRAM 1-10 pJ (Wong et al. 2012; Yu 2018)")
    perturbation_bit: float = _constant(0.005, "pJ", "one LFSR bit (flip-flop + XOR, 45 nm)")
    analog_integrator: float = _constant(0.01, "pJ", "C V^2, C = 250 fF, V = 0.2 V")

    @property
    def sram_read_8bit(self) -> float:
        """An 8-bit SRAM read: a quarter of the 32-bit read (linear in the word width)."""
        return self.sram_read_32bit * 8 / 32

    def rows(self) -> list[tuple[str, float, str, str]]:
        """``(name, value, unit, source)`` for every constant, in field order."""
        return [(f.name, getattr(self, f.name), f.metadata["unit"], f.metadata["source"]) for f in fields(self)]


class _Energy(Real):
    def __init__(self):
        super().__init__(0)

    def describe(self) -> str:
        return "a finite energy >= 0 (pJ)"


# every constant a finite energy >= 0, checked (and made a float) by the generated __init__
EnergyAssumptions.__init__ = validate_params({f.name: _Energy() for f in fields(EnergyAssumptions)})(
    EnergyAssumptions.__init__)
ASSUMPTIONS = InstanceOf(EnergyAssumptions, example=EnergyAssumptions)


# -- converters -------------------------------------------------------------------------------
@validate_params({"bits": BITS, "assumptions": ASSUMPTIONS})
def adc_energy(bits: int, assumptions: EnergyAssumptions = EnergyAssumptions()) -> float:
    """One ADC conversion, ``FOM 2^bits`` pJ (Walden figure of merit)."""
    return assumptions.adc_fom * 2.0 ** bits


@validate_params({"bits": BITS, "assumptions": ASSUMPTIONS})
def dac_energy(bits: int, assumptions: EnergyAssumptions = EnergyAssumptions()) -> float:
    """One DAC conversion, ``bits x dac_per_bit`` pJ (linear in the bits)."""
    return assumptions.dac_per_bit * bits


# -- what a hardware model is made of ---------------------------------------------------------
@validate_params({"hardware": HARDWARE})
def technology(hardware) -> str:
    """The technology whose energies apply to ``hardware`` (None, a preset name or a HardwareModel).

    The rule: a model with any analog effect (programming or read noise,
    drift, output noise, stuck cells) is an analog crossbar, ``pcm`` when its
    conductances drift (PCM's amorphous phase relaxes; RRAM filaments do not,
    to first order) and ``rram`` otherwise; a model without analog effects
    whose weights are quantized to at most 8 bits is ``int8`` (digital8);
    everything else, the ideal model included, is the ``fp32`` reference.
    """
    hw = _model(hardware)
    w = hw.weights
    if w.programming_noise or w.read_noise or w.drift_nu or hw.converters.output_noise or w.stuck_fraction:
        return "pcm" if w.drift_nu else "rram"
    if w.weight_bits is not None and w.weight_bits <= 8:
        return "int8"
    return "fp32"


@validate_params({"sizes": SIZES})
def layer_shapes(sizes) -> list[tuple[int, int]]:
    """``(rows, cols) = (n_in + 1, n_out)`` of every layer (the bias as a row)."""
    return [(a + 1, b) for a, b in zip(sizes[:-1], sizes[1:])]


@validate_params({"sizes": SIZES})
def n_params(sizes) -> int:
    """Weights and biases of the network, ``sum_l rows_l cols_l``."""
    return sum(r * c for r, c in layer_shapes(sizes))


# -- the estimates ----------------------------------------------------------------------------
@validate_params({"sizes": SIZES, "hardware": HARDWARE, "assumptions": ASSUMPTIONS, "batch": POSITIVE_INT})
def forward_energy(sizes, hardware, assumptions: EnergyAssumptions = EnergyAssumptions(), batch: int = 1) -> dict:
    """Energy (pJ) of ``batch`` forward passes of the MLP ``sizes`` on ``hardware``.

    Per sample and layer (module docstring): analog ``rows cols E_cell + cols
    E_ADC(adc_bits) + rows E_DAC(dac_bits)``; digital ``rows cols (E_mul +
    E_add)`` (arithmetic) ``+ rows cols E_read`` (memory). Returns the
    components of :data:`FORWARD_COMPONENTS` (zero where a technology has
    none) and their sum under ``"total"``; converters a model lacks are taken
    as 8-bit.
    """
    shapes = layer_shapes(sizes)
    hw, tech = _model(hardware), technology(hardware)
    out = dict.fromkeys(FORWARD_COMPONENTS, 0.0)
    _add(out, _passes(shapes, hw, tech, assumptions, "forward"), batch)
    return _total(out)


@validate_params({"sizes": SIZES, "hardware": HARDWARE, "method": Choice(METHODS), "batch": POSITIVE_INT,
                  "tau_theta": POSITIVE_INT, "tau_x": POSITIVE_INT, "highpass": Bool(), "assumptions": ASSUMPTIONS})
def training_step_energy(sizes, hardware, method: str, *, batch: int, tau_theta: int = 1, tau_x: int = 1,
                         highpass: bool = False, assumptions: EnergyAssumptions = EnergyAssumptions()) -> dict:
    """Energy (pJ) of one training step on a minibatch of ``batch`` samples.

    ``method="backprop"``: ``batch`` x (forward + delta propagation through
    layers 2..L + weight gradient) + ``N`` updates. ``method="mgd"``:
    ``batch (1 + 1/tau_x)`` forward passes (perturbed, plus the reference
    ``C0`` once per input; ``highpass=True``: ``batch`` passes, no ``C0``) +
    ``N`` local perturbation/integration operations + ``N / tau_theta``
    updates. Updates: analog, one programming pulse per parameter
    (``pcm_write``/``rram_write``); digital, ``theta -= eta g``: a multiply, an
    add, a read and a write per parameter. Returns the components of
    :data:`TRAINING_COMPONENTS` and ``"total"``.
    """
    shapes = layer_shapes(sizes)
    hw, tech = _model(hardware), technology(hardware)
    a, N = assumptions, sum(r * c for r, c in shapes)
    out = dict.fromkeys(TRAINING_COMPONENTS, 0.0)
    if method == "backprop":
        for stage in ("forward", "delta", "gradient"):
            _add(out, _passes(shapes, hw, tech, a, stage), batch)
        updates = N
    else:
        _add(out, _passes(shapes, hw, tech, a, "forward"), batch * (1.0 if highpass else 1.0 + 1.0 / tau_x))
        if tech in ANALOG:
            out["local"] = N * (a.perturbation_bit + a.analog_integrator)
        else:
            add, read = _digital(tech, a)[1:]
            out["local"] = N * (a.perturbation_bit + 2 * add + 2 * read)
        updates = N / tau_theta
    if tech in ANALOG:
        out["update"] = updates * (a.pcm_write if tech == "pcm" else a.rram_write)
    else:
        mul, add, read = _digital(tech, a)
        out["update"] = updates * (mul + add + 2 * read)
    return _total(out)


# -- helpers ----------------------------------------------------------------------------------
def _passes(shapes, hw: HardwareModel, tech: str, a: EnergyAssumptions, stage: str) -> dict:
    """One sample's energy of one stage (forward, delta, gradient) over every layer."""
    out = dict.fromkeys(FORWARD_COMPONENTS, 0.0)
    layers = shapes[1:] if stage == "delta" else shapes
    if tech in ANALOG:
        e_adc = a.adc_fom * 2.0 ** (hw.adc_bits or 8)
        e_dac = a.dac_per_bit * (hw.dac_bits or 8)
        for rows, cols in layers:
            out["cells"] += rows * cols * a.cell_read
            if stage == "forward":
                out["adc"] += cols * e_adc
                out["dac"] += rows * e_dac
            elif stage == "delta":
                out["adc"] += rows * e_adc
                out["dac"] += cols * e_dac
            else:
                out["dac"] += (rows + cols) * e_dac
    else:
        mul, add, read = _digital(tech, a)
        macs = sum(rows * cols for rows, cols in layers)
        out["arithmetic"] = macs * (mul + add)
        out["memory"] = macs * read
    return out


def _digital(tech: str, a: EnergyAssumptions) -> tuple[float, float, float]:
    """(multiply, add, memory access) energies of a digital technology."""
    if tech == "int8":
        return a.int8_mul, a.int8_add, a.sram_read_8bit
    return a.fp32_mul, a.fp32_add, a.sram_read_32bit


def _add(out: dict, part: dict, times: float):
    for key, value in part.items():
        out[key] += times * value


def _total(out: dict) -> dict:
    out["total"] = sum(out.values())
    return out


def _model(hardware) -> HardwareModel:
    """``hardware`` as a model (None and ``ideal`` alike: the fp32 reference)."""
    return _as_model(hardware) or _IDEAL
