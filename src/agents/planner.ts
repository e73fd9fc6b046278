/**
 * The household planner (seed step 2): a linear program over a rolling horizon that schedules the
 * home battery, the EV and the heat pump at least expected cost — imports at the expected import
 * price, exports at the expected export price — with every comfort and device limit a hard
 * constraint. Its duals price the slot's order (see `marginalValues` and docs/strategic-bidding.md).
 *
 * Variables per slot t (energies in Wh over the slot):
 *   import_t, export_t ≥ 0; battery charge_t, discharge_t ∈ [0, power], soc_t ∈ [min, capacity];
 *   ev_t ∈ [0, charger power while plugged in]; heat_t ∈ [0, rated power], room_t (°C, end of slot).
 * Rows:
 *   balance_t:  import − export − charge + discharge − ev − heat = load − PV   (dual: the slot's value)
 *   soc_t:      soc_t − soc_{t−1} − η·charge_t + discharge_t/η = 0
 *   room_t:     room_t − decay_t·room_{t−1} − warming_t·heat_t = drift_t     (exact 1R1C step)
 *   ev need:    Σ ev_t over a stay ≥ the energy needed before departure.
 * @module
 */
import type { ThermalStep } from "../profiles/heat-pump.ts";
import { ValidationError } from "../validation/index.ts";
import type { LinearProgram, LpSolver } from "./solver.ts";

/** A home battery as the planner sees it now. */
export interface BatteryState {
  readonly capacityWh: number;
  readonly minWh: number;
  /** Charge and discharge limit per slot, Wh at the connection. */
  readonly maxWhPerSlot: number;
  /** One-way efficiency. */
  readonly efficiency: number;
  readonly socWh: number;
  /** What a Wh left in the battery at the horizon's end is worth once discharged (so after the discharge efficiency), price units per kWh. */
  readonly terminalPrice: number;
}

/** An EV's stays at home within the horizon. */
export interface EvState {
  /** Per horizon slot, the most the charger can deliver (0 while the car is away), Wh. */
  readonly maxWhPerSlot: readonly number[];
  /** Each stay: slots `[fromSlot, untilSlot)` must deliver at least `needWh`. */
  readonly needs: readonly {
    readonly fromSlot: number;
    readonly untilSlot: number;
    readonly needWh: number;
  }[];
}

/** A heat pump and its building as the planner sees them now. */
export interface HeatPumpState {
  readonly temperatureC: number;
  readonly minTemperatureC: number;
  readonly maxTemperatureC: number;
  /** Per horizon slot, the most it may draw (0 outside the heating season), Wh. */
  readonly maxWhPerSlot: readonly number[];
  /** Per horizon slot, the building's thermal step at the forecast outdoor temperature. */
  readonly steps: readonly ThermalStep[];
}

/** One household's planning problem over the horizon; arrays are aligned with the horizon's slots. */
export interface PlanningProblem {
  /** Forecast load minus PV (and devices the planner does not move), Wh; negative: a surplus. */
  readonly baseWh: readonly number[];
  /** Expected prices, price units per kWh. */
  readonly importPrice: readonly number[];
  readonly exportPrice: readonly number[];
  /** The DSO's cap on the connection per slot, both directions: the devices never push past it. */
  readonly connectionCapWh?: number;
  /**
   * What each Wh of the horizon's highest slot import costs on top of its energy, price units per Wh
   * (a capacity tariff, or the DSO's request to spread load): it keeps a cheap slot from drawing every
   * device at once.
   */
  readonly peakPricePerWh?: number;
  readonly battery?: BatteryState;
  readonly ev?: EvState;
  readonly heatPump?: HeatPumpState;
}

/** The schedule over the horizon and what energy is worth to the household in each slot. */
export interface Plan {
  readonly importWh: Float64Array;
  readonly exportWh: Float64Array;
  /** Battery energy at the connection: charge positive, discharge negative. */
  readonly batteryWh: Float64Array;
  readonly evWh: Float64Array;
  readonly heatPumpWh: Float64Array;
  /** Room temperature at the end of each slot, °C (empty without a heat pump). */
  readonly temperatureC: Float64Array;
  readonly values: MarginalValues;
}

/**
 * What energy is worth to the household, slot by slot, price units per kWh (import prices include
 * the network fee). `balance` is the balance row's dual; each device's value is the price at which the
 * plan would still move that device's energy in that slot: the balance dual corrected by the device's
 * reduced cost, above the dual when the device runs at its limit because the slot is cheaper than any
 * other (and, for discharge, below it). Absent devices are worth the balance.
 */
export interface MarginalValues {
  readonly balance: Float64Array;
  readonly charge: Float64Array;
  readonly discharge: Float64Array;
  readonly ev: Float64Array;
  readonly heat: Float64Array;
}

/**
 * Keeps a battery from charging and discharging in the same slot, and the EV from charging later
 * than it need: tie-breakers far below a price unit.
 */
const TIE_BREAK_PER_WH = 1e-7;
/** Prices per kWh become costs per Wh. */
const WH_PER_KWH = 1000;

/** Plans one household. @throws {@link ValidationError} naming the setting that makes the plan impossible. */
export async function planHousehold(problem: PlanningProblem, solver: LpSolver): Promise<Plan> {
  checkProblem(problem);
  const program = new ProgramBuilder();
  const layout = buildProgram(problem, program);
  const solution = await solver.solve(program.build());
  if (solution.status === "failed") throw new Error(`the planner's solver failed: ${solution.detail}`);
  if (solution.status !== "optimal") {
    throw new ValidationError([
      {
        path: problem.connectionCapWh === undefined ? "plan" : "connectionCapWh",
        message:
          problem.connectionCapWh === undefined
            ? `no plan meets every device limit (${solution.detail})`
            : `${problem.connectionCapWh} Wh per slot is too little to meet the comfort and EV needs (${solution.detail})`,
      },
    ]);
  }
  return readPlan(layout, solution);
}

/** Settings that no schedule can meet, named before the solver runs. */
function checkProblem(problem: PlanningProblem): void {
  const issues: { path: string; message: string }[] = [];
  const slots = problem.baseWh.length;
  if (slots === 0) issues.push({ path: "horizon", message: "is empty" });
  if (problem.importPrice.length !== slots || problem.exportPrice.length !== slots)
    issues.push({ path: "prices", message: `do not cover the ${slots} slots of the horizon` });
  problem.importPrice.forEach((price, t) => {
    if (price < (problem.exportPrice[t] ?? price))
      issues.push({
        path: `prices[${t}]`,
        message: `import ${price} is below export ${problem.exportPrice[t]}`,
      });
  });
  const battery = problem.battery;
  if (battery !== undefined) {
    if (!(battery.efficiency > 0 && battery.efficiency <= 1))
      issues.push({ path: "battery.efficiency", message: `${battery.efficiency} is not in (0, 1]` });
    if (!(battery.minWh >= 0 && battery.minWh <= battery.capacityWh))
      issues.push({
        path: "battery.minSocFraction",
        message: `${battery.minWh} Wh is not within the capacity`,
      });
  }
  problem.ev?.needs.forEach((need) => {
    let deliverableWh = 0;
    for (let t = need.fromSlot; t < need.untilSlot; t++) deliverableWh += problem.ev?.maxWhPerSlot[t] ?? 0;
    if (need.needWh > deliverableWh + 1e-6)
      issues.push({
        path: "ev.chargerKw",
        message: `the car needs ${Math.round(need.needWh)} Wh before it leaves, but the charger delivers at most ${Math.round(deliverableWh)} Wh while it is home`,
      });
  });
  const heatPump = problem.heatPump;
  if (heatPump !== undefined && heatPump.minTemperatureC >= heatPump.maxTemperatureC)
    issues.push({
      path: "heatPump.minTemperatureC",
      message: `${heatPump.minTemperatureC} is not below maxTemperatureC ${heatPump.maxTemperatureC}`,
    });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Where each variable family starts (−1: absent); a family has one variable per slot. */
interface Layout {
  readonly slots: number;
  readonly importAt: number;
  readonly exportAt: number;
  readonly chargeAt: number;
  readonly dischargeAt: number;
  readonly evAt: number;
  readonly heatAt: number;
  readonly roomAt: number;
}

function buildProgram(problem: PlanningProblem, program: ProgramBuilder): Layout {
  const slots = problem.baseWh.length;
  const { battery, ev, heatPump } = problem;
  const cap = problem.connectionCapWh ?? Number.POSITIVE_INFINITY;
  const balanceRows = problem.baseWh.map((baseWh) => program.row(baseWh, baseWh));
  const family = (make: (t: number) => number): number => {
    const first = program.columnCount;
    for (let t = 0; t < slots; t++) make(t);
    return first;
  };
  const peakPrice = problem.peakPricePerWh ?? 0;
  // import_t − peak ≤ 0 for every slot, so that the peak variable is the horizon's highest import.
  const peakRows = peakPrice > 0 ? problem.baseWh.map(() => program.row(Number.NEGATIVE_INFINITY, 0)) : [];
  const importAt = family((t) =>
    program.column(
      (problem.importPrice[t] as number) / WH_PER_KWH,
      0,
      Math.max(cap, problem.baseWh[t] as number),
      peakPrice > 0
        ? [
            [balanceRows[t] as number, 1],
            [peakRows[t] as number, 1],
          ]
        : [[balanceRows[t] as number, 1]],
    ),
  );
  const exportAt = family((t) =>
    program.column(
      -(problem.exportPrice[t] as number) / WH_PER_KWH,
      0,
      Math.max(cap, -(problem.baseWh[t] as number)),
      [[balanceRows[t] as number, -1]],
    ),
  );
  if (peakPrice > 0)
    program.column(
      peakPrice,
      0,
      Number.POSITIVE_INFINITY,
      peakRows.map((row): [number, number] => [row, -1]),
    );
  let chargeAt = -1;
  let dischargeAt = -1;
  if (battery !== undefined) {
    const { efficiency, maxWhPerSlot } = battery;
    const socRows = Array.from({ length: slots }, (_, t) =>
      t === 0 ? program.row(battery.socWh, battery.socWh) : program.row(0, 0),
    );
    chargeAt = family((t) =>
      program.column(TIE_BREAK_PER_WH, 0, maxWhPerSlot, [
        [balanceRows[t] as number, -1],
        [socRows[t] as number, -efficiency],
      ]),
    );
    dischargeAt = family((t) =>
      program.column(TIE_BREAK_PER_WH, 0, maxWhPerSlot, [
        [balanceRows[t] as number, 1],
        [socRows[t] as number, 1 / efficiency],
      ]),
    );
    family((t) =>
      program.column(
        t === slots - 1 ? -(battery.terminalPrice * efficiency) / WH_PER_KWH : 0,
        battery.minWh,
        battery.capacityWh,
        t === slots - 1
          ? [[socRows[t] as number, 1]]
          : [
              [socRows[t] as number, 1],
              [socRows[t + 1] as number, -1],
            ],
      ),
    );
  }
  let evAt = -1;
  if (ev !== undefined) {
    const needRows = ev.needs.map((need) => program.row(need.needWh, Number.POSITIVE_INFINITY));
    evAt = family((t) =>
      program.column(TIE_BREAK_PER_WH * t, 0, ev.maxWhPerSlot[t] ?? 0, [
        [balanceRows[t] as number, -1],
        ...ev.needs.flatMap((need, n): [number, number][] =>
          t >= need.fromSlot && t < need.untilSlot ? [[needRows[n] as number, 1]] : [],
        ),
      ]),
    );
  }
  let heatAt = -1;
  let roomAt = -1;
  if (heatPump !== undefined) {
    const { steps } = heatPump;
    const bounds = roomBounds(heatPump);
    const roomRows = steps.map((step, t) => {
      const constantC = step.driftC + (t === 0 ? step.decay * heatPump.temperatureC : 0);
      return program.row(constantC, constantC);
    });
    heatAt = family((t) =>
      program.column(0, 0, heatPump.maxWhPerSlot[t] ?? 0, [
        [balanceRows[t] as number, -1],
        [roomRows[t] as number, -(steps[t] as ThermalStep).warmingCPerWh],
      ]),
    );
    roomAt = family((t) =>
      program.column(
        0,
        bounds.lowC[t] as number,
        bounds.highC[t] as number,
        t === slots - 1
          ? [[roomRows[t] as number, 1]]
          : [
              [roomRows[t] as number, 1],
              [roomRows[t + 1] as number, -(steps[t + 1] as ThermalStep).decay],
            ],
      ),
    );
  }
  return { slots, importAt, exportAt, chargeAt, dischargeAt, evAt, heatAt, roomAt };
}

/**
 * The comfort band, slot by slot, widened only where physics leaves no choice: a room that full
 * heating cannot keep warm enough may fall to what full heating reaches, and a room that warms above
 * the band with the heat pump off (summer sun, internal gains) may stay there — the heat pump cannot cool.
 */
function roomBounds(heatPump: HeatPumpState): { lowC: Float64Array; highC: Float64Array } {
  const slots = heatPump.steps.length;
  const lowC = new Float64Array(slots);
  const highC = new Float64Array(slots);
  let fullC = heatPump.temperatureC;
  let offC = heatPump.temperatureC;
  heatPump.steps.forEach((step, t) => {
    fullC = step.decay * fullC + step.driftC + step.warmingCPerWh * (heatPump.maxWhPerSlot[t] ?? 0);
    offC = step.decay * offC + step.driftC;
    lowC[t] = Math.min(heatPump.minTemperatureC, fullC);
    highC[t] = Math.max(heatPump.maxTemperatureC, offC);
  });
  return { lowC, highC };
}

function readPlan(
  layout: Layout,
  solution: { colValue: Float64Array; colDual: Float64Array; rowDual: Float64Array },
): Plan {
  const { slots } = layout;
  const { colValue, colDual, rowDual } = solution;
  // An absent device does nothing in every slot; an absent room has no temperatures.
  const family = (at: number, absentLength = slots): Float64Array =>
    at < 0 ? new Float64Array(absentLength) : colValue.slice(at, at + slots);
  // The balance rows come first, one per slot.
  const balance = rowDual.slice(0, slots).map((dual) => dual * WH_PER_KWH);
  // A device variable enters its balance row with weight −1 (consumes) or +1 (discharges).
  const deviceValues = (at: number, weight: 1 | -1): Float64Array =>
    balance.map((dual, t) => (at < 0 ? dual : dual - weight * (colDual[at + t] as number) * WH_PER_KWH));
  const charge = family(layout.chargeAt);
  const discharge = family(layout.dischargeAt);
  return {
    importWh: family(layout.importAt),
    exportWh: family(layout.exportAt),
    batteryWh: charge.map((chargeWh, t) => chargeWh - (discharge[t] as number)),
    evWh: family(layout.evAt),
    heatPumpWh: family(layout.heatAt),
    temperatureC: family(layout.roomAt, 0),
    values: {
      balance,
      charge: deviceValues(layout.chargeAt, 1),
      discharge: deviceValues(layout.dischargeAt, -1),
      ev: deviceValues(layout.evAt, 1),
      heat: deviceValues(layout.heatAt, 1),
    },
  };
}

/** Collects a program column by column (CSC), rows first declared with their bounds. */
class ProgramBuilder {
  private readonly rowLower: number[] = [];
  private readonly rowUpper: number[] = [];
  private readonly colCost: number[] = [];
  private readonly colLower: number[] = [];
  private readonly colUpper: number[] = [];
  private readonly starts: number[] = [0];
  private readonly indices: number[] = [];
  private readonly values: number[] = [];

  get columnCount(): number {
    return this.colCost.length;
  }

  row(lower: number, upper: number): number {
    this.rowLower.push(lower);
    return this.rowUpper.push(upper) - 1;
  }

  column(
    cost: number,
    lower: number,
    upper: number,
    entries: readonly (readonly [number, number])[],
  ): number {
    for (const [row, value] of entries) {
      this.indices.push(row);
      this.values.push(value);
    }
    this.starts.push(this.indices.length);
    this.colCost.push(cost);
    this.colLower.push(lower);
    return this.colUpper.push(upper) - 1;
  }

  build(): LinearProgram {
    return {
      colCost: Float64Array.from(this.colCost),
      colLower: Float64Array.from(this.colLower),
      colUpper: Float64Array.from(this.colUpper),
      rowLower: Float64Array.from(this.rowLower),
      rowUpper: Float64Array.from(this.rowUpper),
      starts: Int32Array.from(this.starts),
      indices: Int32Array.from(this.indices),
      values: Float64Array.from(this.values),
    };
  }
}
