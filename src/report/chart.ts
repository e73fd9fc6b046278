/**
 * The report's one chart builder: a category-axis line/bar chart rendered server-side by ECharts to
 * an inline SVG string, with the renderer's process-global ids replaced so the output is repeatable.
 * @module
 */
import { BarChart, type BarSeriesOption, LineChart, type LineSeriesOption } from "echarts/charts";
import {
  GridComponent,
  type GridComponentOption,
  LegendComponent,
  type LegendComponentOption,
  TitleComponent,
  type TitleComponentOption,
} from "echarts/components";
import { type ComposeOption, init, use } from "echarts/core";
import { SVGRenderer } from "echarts/renderers";

use([BarChart, LineChart, GridComponent, LegendComponent, TitleComponent, SVGRenderer]);

type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | TitleComponentOption
>;

/** Chart size in px; the page scales it down to narrower screens through the SVG's viewBox. */
const WIDTH_PX = 1040;
const HEIGHT_PX = 380;
const GRID_LEFT_PX = 64;
const GRID_RIGHT_PX = 24;
const PLOT_WIDTH_PX = WIDTH_PX - GRID_LEFT_PX - GRID_RIGHT_PX;
/** Narrower bars (per category) are drawn without gaps between them. */
const MIN_GAPPED_BAR_PX = 2;
/** Width of one character of a 12 px axis label, generously, plus the gap kept between two labels. */
const LABEL_CHAR_PX = 6.5;
const LABEL_GAP_PX = 12;
/** Space under the plot that labels rotated 40° of at most LABEL_WIDTH_PX need. */
const LABEL_WIDTH_PX = 90;
const ROTATED_LABELS_PX = 70;
/** Rotated when more than this many: side by side they would overlap. */
const MAX_UPRIGHT_LABELS = 12;

/** One series of a chart; values align with the chart's categories, null leaving a gap. */
export interface ChartSeries {
  readonly name: string;
  readonly kind: "line" | "bar";
  readonly values: readonly (number | null)[];
  readonly color: string;
  /** Bars of series sharing a stack name pile up on each other. */
  readonly stack?: string;
  readonly dashed?: boolean;
}

/** What a chart shows. Text is plain: the renderer escapes it. */
export interface ChartSpec {
  readonly title: string;
  /** What one point is and how to read it. */
  readonly subtitle: string;
  readonly categories: readonly string[];
  /** Which categories are labelled: all of them (few, named ones), none, or those at these indices. */
  readonly categoryLabels: "every" | "none" | readonly number[];
  readonly xAxisName: string;
  readonly yAxisName: string;
  readonly series: readonly ChartSeries[];
}

/** How many upright category labels of `characters` characters fit side by side under a chart. */
export function maxCategoryLabels(characters: number): number {
  return Math.max(1, Math.floor(PLOT_WIDTH_PX / (characters * LABEL_CHAR_PX + LABEL_GAP_PX)));
}

/**
 * The chart as an `<svg>` element. `idPrefix` must be unique in the page: the SVG's clip paths are
 * named by it, in place of the renderer's names, which come from a counter shared by the whole
 * process (a second render of the same chart would differ).
 */
export function renderChart(spec: ChartSpec, idPrefix: string): string {
  const chart = init(null, null, { renderer: "svg", ssr: true, width: WIDTH_PX, height: HEIGHT_PX });
  try {
    chart.setOption(chartOption(spec));
    return inlined(chart.renderToSVGString(), idPrefix);
  } finally {
    chart.dispose();
  }
}

function chartOption(spec: ChartSpec): ChartOption {
  const withLegend = spec.series.length > 1;
  const rotated = spec.categoryLabels === "every" && spec.categories.length > MAX_UPRIGHT_LABELS;
  const labelsPx = spec.categoryLabels === "none" ? 0 : rotated ? ROTATED_LABELS_PX : 20;
  return {
    animation: false,
    textStyle: { fontFamily: "system-ui, sans-serif" },
    title: {
      text: spec.title,
      subtext: spec.subtitle,
      left: 8,
      top: 4,
      textStyle: { fontSize: 16 },
      subtextStyle: { fontSize: 12, color: "#555" },
    },
    ...(withLegend ? { legend: { top: 56, left: 8, itemGap: 28 } } : {}),
    grid: {
      left: GRID_LEFT_PX,
      right: GRID_RIGHT_PX,
      top: withLegend ? 116 : 92,
      bottom: labelsPx + 36,
    },
    xAxis: {
      type: "category",
      data: [...spec.categories],
      name: spec.xAxisName,
      nameLocation: "middle",
      nameGap: labelsPx + 14,
      axisTick: { show: spec.categoryLabels !== "none", alignWithLabel: true, interval: labelledAt(spec) },
      axisLabel: {
        show: spec.categoryLabels !== "none",
        interval: labelledAt(spec),
        rotate: rotated ? 40 : 0,
        // Names can be long; times are short and whole.
        ...(spec.categoryLabels === "every" ? { width: LABEL_WIDTH_PX, overflow: "truncate" as const } : {}),
      },
    },
    yAxis: { type: "value", name: spec.yAxisName, nameTextStyle: { align: "left" } },
    series: spec.series.map((one) => seriesOption(one, spec.categories.length)),
  };
}

function labelledAt(spec: ChartSpec): number | ((index: number) => boolean) {
  const { categoryLabels } = spec;
  if (typeof categoryLabels === "string") return 0;
  const labelled = new Set(categoryLabels);
  return (index) => labelled.has(index);
}

function seriesOption(spec: ChartSeries, categories: number): BarSeriesOption | LineSeriesOption {
  const common = {
    name: spec.name,
    color: spec.color,
    emphasis: { disabled: true },
    ...(spec.stack === undefined ? {} : { stack: spec.stack }),
  };
  if (spec.kind === "bar") {
    // Gaps between bars a few pixels wide alias into stripes; touching bars read as an area.
    const barCategoryGap = PLOT_WIDTH_PX / categories < MIN_GAPPED_BAR_PX ? 0 : "20%";
    return { ...common, type: "bar", data: [...spec.values], barCategoryGap, barMaxWidth: 48 };
  }
  const { values } = spec;
  return {
    ...common,
    type: "line",
    // A point between two gaps has no segment to draw, so it alone gets a dot; a dot on every point
    // would thicken a long line into a smear.
    symbol: "none",
    showAllSymbol: true,
    data: values.map((value, index) =>
      value !== null && (values[index - 1] ?? null) === null && (values[index + 1] ?? null) === null
        ? { value, symbol: "circle", symbolSize: 5 }
        : value,
    ),
    lineStyle: { width: 1.5, type: spec.dashed === true ? "dashed" : "solid" },
  };
}

/**
 * The SVG ready to sit in an HTML page. Gone: the namespace declarations, which HTML implies and
 * whose `http://` names only look like links; and what serves interaction (hover styles, metadata
 * for the ECharts client), which a page without script has no use for and which would make up half
 * its weight. Clip-path ids stay, renamed (see {@link renderChart}).
 */
function inlined(svg: string, idPrefix: string): string {
  return svg
    .replace(/ (xmlns(:xlink)?|ecmeta_\w+|class)="[^"]*"/g, "")
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>/g, "")
    .replace(/\bzr\d+-/g, `${idPrefix}-`);
}
