/** Runs the autopilot if STRATA_AUTOPILOT is set; stops it and its moves on close. */
import fp from 'fastify-plugin';
import type { Config } from '../config/config.js';
import { requestMove } from '../moves/move-jobs.js';
import { MoveWorker } from '../moves/move-worker.js';
import { startAutopilot } from './autopilot.js';
import { currentRecommendations } from './recommendations.js';

/** Apps sharing a platform (tests) may differ in `config`. */
export const autopilotPlugin = fp<{ config: Config }>(
  async (app, { config }) => {
    const { platform } = app;
    const { autopilot, advice, rateLimit } = config;
    if (!autopilot.enabled) return;
    // Its own move runner; any instance's move worker adopts its moves if this one stops.
    const worker = new MoveWorker(platform);
    let running: { close(): Promise<void> } | undefined;
    app.addHook('onReady', async () => {
      running = startAutopilot(
        {
          catalog: platform.catalog,
          log: app.log,
          recommendations: () =>
            currentRecommendations({ catalog: platform.catalog, thresholds: advice.thresholds, planOverrides: rateLimit.planOverrides }, advice.windowMs),
          requestMove: (request) => requestMove(platform, request),
          startMove: (jobId) => worker.start(jobId),
        },
        autopilot,
      );
    });
    app.addHook('onClose', async () => {
      await running?.close();
      await worker.close();
    });
  },
  { name: 'strata-autopilot', dependencies: ['strata-platform'] },
);
