// Plots of analysis results as SVG (and an HTML page embedding them): pure, dependency-free.
export { histogramSvg, histogramStats, resultPlots, cutflowSvg, summaryHtml, axisUnit, yAxisLabel, FONT_FAMILY, type HistogramSvgOptions, type HistogramStats } from './svg';
export { escapeXml, parseRich, richText, plainText, formatSig, type TextRun } from './text';
export { linearTicks, logTicks, niceStep, type AxisTicks, type Tick } from './ticks';
