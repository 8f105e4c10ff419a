// Preloaded into the mirror (NODE_OPTIONS=--import=…) by BENCH_CPU_PROF=1: node refuses
// --cpu-prof in NODE_OPTIONS, and the mirror is started as ./bin/hexhub, so the profile is
// taken with the inspector instead and written when the process exits (SIGTERM → exit).
// Output: $HEXHUB_CPU_PROFILE (a .cpuprofile for Chrome DevTools, speedscope or bench/profile-top.ts).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.HEXHUB_CPU_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The same-thread inspector answers synchronously, so this completes before exit.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(file, JSON.stringify(result.profile));
    });
  });
}
