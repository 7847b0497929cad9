/**
 * pino logging: one JSON line per event. Modules take a child logger that
 * carries their context (roomId, peerId, workerPid), never a global.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
	return pino(
		{
			level,
			base: { service: 'sfu-server' },
			timestamp: pino.stdTimeFunctions.isoTime,
			formatters: { level: (label) => ({ level: label }) },
		},
		destination ?? pino.destination({ sync: false }),
	);
}
