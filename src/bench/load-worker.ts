/**
 * Child process of the loader benchmark: loads one file and prints one JSON
 * line with its timing and its own peak RSS, so the loader's memory is measured
 * apart from the benchmark driver's.
 */
import { loadFile } from '../load/batch-loader.ts';

const [url, path, into] = process.argv.slice(2);
const report = await loadFile(url!, path!, { into });
const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage(); // kilobytes, microseconds
// CPU time (all threads, gunzip included) says how much of the machine the loader takes beside PostgreSQL.
const cpuSeconds = (userCPUTime + systemCPUTime) / 1e6;
process.stdout.write(`${JSON.stringify({ rows: report.rowsLoaded, quarantined: report.rowsQuarantined, seconds: report.seconds, peakRssMb: maxRSS / 1024, cpuSeconds })}\n`);
