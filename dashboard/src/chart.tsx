/**
 * A uPlot line chart of a few series over time. The component keeps the chart and feeds it
 * new data each time `data` changes (no re-creation unless the series change). The last
 * values and the number of points are also on the element (`data-points`, `data-last`), for
 * people's tools and the browser tests.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** One line. */
export interface Series {
  label: string;
  color: string;
}

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04'];

/** A color for the i-th series. */
export function color(i: number): string {
  return COLORS[i % COLORS.length]!;
}

interface ChartProps {
  name: string;
  title: string;
  series: Series[];
  /** [times in seconds, ...one array per series]. */
  data: number[][];
  unit?: string;
}

function options(title: string, series: Series[], width: number, unit: string): uPlot.Options {
  return {
    title,
    width,
    height: 180,
    legend: { live: false },
    scales: { x: { time: true } },
    axes: [{}, { size: 60, values: (_u, values) => values.map((v) => `${v}${unit}`) }],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
  };
}

/** A chart (see the file comment). */
export function Chart({ name, title, series, data, unit = '' }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const element = box.current!;
    const chart = new uPlot(
      options(title, series, element.clientWidth, unit),
      data as uPlot.AlignedData,
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: element.clientWidth, height: 180 }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // Re-created only when the series change; new data goes through setData below.
  }, [key, title]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const last = data.slice(1).map((values) => values[values.length - 1] ?? 0);
  return (
    <div
      class="chart"
      ref={box}
      data-chart={name}
      data-points={data[0]?.length ?? 0}
      data-last={last.join(',')}
    />
  );
}
