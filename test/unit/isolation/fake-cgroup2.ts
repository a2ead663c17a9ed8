/**
 * A fake cgroup2 kernel over a temp dir, for hosts without v2 controllers.
 * Directories and interface files are laid out as the kernel does (a new
 * cgroup gets the core files plus those of the controllers its parent enabled
 * in `cgroup.subtree_control`), and the fake keeps the kernel's rules that
 * the isolator depends on: only controllers in `cgroup.controllers` may be
 * enabled, no processes in a cgroup that hands controllers down (EBUSY), a
 * cgroup with children or processes cannot be removed (EBUSY), writing a pid
 * to `cgroup.procs` moves it, `cgroup.kill` empties a tree, `cgroup.freeze`
 * sets `frozen`, and a pid whose process has ended is no longer listed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { CgroupFs } from "../../../actors/agent/isolation/cgroup-fs.ts";

const ALL_CONTROLLERS = ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"];

function errno(code: string, what: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: ${what}`);
  err.code = code;
  return err;
}

/** Whether a pid runs (exists and is not a zombie). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.charAt(stat.lastIndexOf(")") + 2) !== "Z";
  } catch {
    return false;
  }
}

export interface FakeCgroup2Options {
  /** Controllers the root offers (default: all of a typical kernel). */
  controllers?: string[];
  /** Whether cgroups have `cgroup.kill` (Linux 5.14+; default true). */
  cgroupKill?: boolean;
}

/** The fake kernel; `mount` is the root of the unified hierarchy. */
export class FakeCgroup2 implements CgroupFs {
  readonly mount: string;
  readonly #kill: boolean;
  /** Every write, in order, as `relative/path=value` (for assertions). */
  readonly writes: string[] = [];

  constructor(mount: string, options: FakeCgroup2Options = {}) {
    this.mount = mount;
    this.#kill = options.cgroupKill ?? true;
    mkdirSync(mount, { recursive: true });
    const controllers = options.controllers ?? ALL_CONTROLLERS;
    // The root cgroup: no cgroup.events/freeze/kill and no limit files, as on a real host.
    this.#put(mount, "cgroup.controllers", controllers.join(" "));
    this.#put(mount, "cgroup.subtree_control", "");
    this.#put(mount, "cgroup.procs", "");
    this.#put(mount, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
  }

  /** The mount table line of this hierarchy. */
  mountsLine(): string {
    return `cgroup2 ${this.mount} cgroup2 rw,nosuid,nodev,noexec,relatime 0 0`;
  }

  /** Sets a file as the kernel would report it (test's view of the kernel). */
  set(file: string, value: string): void {
    writeFileSync(file, value);
  }

  #put(dir: string, name: string, value: string): void {
    writeFileSync(path.join(dir, name), value);
  }

  #isCgroup(dir: string): boolean {
    return existsSync(path.join(dir, "cgroup.procs"));
  }

  #controllerFiles(dir: string, controller: string): void {
    const put = (n: string, v: string) => {
      if (!existsSync(path.join(dir, n))) this.#put(dir, n, v);
    };
    if (controller === "cpu") {
      put("cpu.weight", "100");
      put("cpu.max", "max 100000");
      this.#put(
        dir,
        "cpu.stat",
        "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n",
      );
    } else if (controller === "memory") {
      put("memory.max", "max");
      put("memory.high", "max");
      put("memory.current", "0");
      put("memory.peak", "0");
      put("memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    } else if (controller === "pids") {
      put("pids.max", "max");
      put("pids.current", "0");
      put("pids.peak", "0");
      put("pids.events", "max 0\n");
    }
  }

  #procs(dir: string): number[] {
    return readFileSync(path.join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map(Number);
  }

  #children(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  }

  #tree(dir: string): string[] {
    return [dir, ...this.#children(dir).flatMap((c) => this.#tree(c))];
  }

  async read(file: string): Promise<string | undefined> {
    if (!existsSync(file)) return undefined;
    if (path.basename(file) === "cgroup.procs") {
      // The kernel lists only live processes: an ended one has left.
      const dir = path.dirname(file);
      const live = this.#procs(dir).filter(running);
      this.#put(dir, "cgroup.procs", live.map((p) => `${p}\n`).join(""));
    }
    return readFileSync(file, "utf8");
  }

  async write(file: string, value: string): Promise<void> {
    if (!existsSync(file)) throw errno("ENOENT", file);
    const dir = path.dirname(file);
    const name = path.basename(file);
    this.writes.push(`${path.relative(this.mount, file)}=${value}`);
    const fail = () => errno("EINVAL", `${value} > ${file}`);
    switch (name) {
      case "cgroup.subtree_control": {
        const available = new Set(
          readFileSync(path.join(dir, "cgroup.controllers"), "utf8").split(/\s+/),
        );
        const enabled = new Set(
          readFileSync(file, "utf8")
            .split(/\s+/)
            .filter((c) => c !== ""),
        );
        for (const token of value.split(/\s+/).filter((t) => t !== "")) {
          const c = token.slice(1);
          if (!available.has(c) || (token[0] !== "+" && token[0] !== "-")) throw fail();
          if (token[0] === "+") enabled.add(c);
          else enabled.delete(c);
        }
        if (dir !== this.mount && enabled.size > 0 && this.#procs(dir).some(running)) {
          throw errno("EBUSY", `${dir} has processes`);
        }
        const list = ALL_CONTROLLERS.filter((c) => enabled.has(c)).join(" ");
        this.#put(dir, name, list);
        for (const child of this.#children(dir)) {
          this.#put(child, "cgroup.controllers", list);
          for (const c of enabled) this.#controllerFiles(child, c);
        }
        return;
      }
      case "cgroup.procs": {
        const pid = Number(value.trim());
        if (!Number.isInteger(pid) || pid <= 0) throw fail();
        const subtree = readFileSync(path.join(dir, "cgroup.subtree_control"), "utf8").trim();
        if (dir !== this.mount && subtree !== "")
          throw errno("EBUSY", `${dir} hands controllers down`);
        for (const at of this.#tree(this.mount)) {
          const rest = this.#procs(at).filter((p) => p !== pid);
          this.#put(at, "cgroup.procs", rest.map((p) => `${p}\n`).join(""));
        }
        this.#put(
          dir,
          "cgroup.procs",
          `${[...this.#procs(dir), pid].map((p) => `${p}\n`).join("")}`,
        );
        return;
      }
      case "cgroup.kill":
        if (value.trim() !== "1") throw fail();
        for (const at of this.#tree(dir)) {
          for (const pid of this.#procs(at)) {
            try {
              process.kill(pid, "SIGKILL");
            } catch {
              // ended already
            }
          }
          this.#put(at, "cgroup.procs", "");
        }
        return;
      case "cgroup.freeze": {
        if (value.trim() !== "0" && value.trim() !== "1") throw fail();
        for (const at of this.#tree(dir)) {
          this.#put(at, "cgroup.events", `populated 0\nfrozen ${value.trim()}\n`);
        }
        return;
      }
      case "cpu.weight": {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 10_000) throw fail();
        break;
      }
      case "cpu.max":
        if (!/^(max|\d+)( \d+)?$/.test(value.trim())) throw fail();
        break;
      case "memory.max":
      case "memory.high":
      case "pids.max":
        if (!/^(max|\d+)$/.test(value.trim())) throw fail();
        break;
    }
    this.#put(dir, name, value);
  }

  async mkdir(dir: string): Promise<void> {
    if (existsSync(dir)) return;
    const parent = path.dirname(dir);
    if (!this.#isCgroup(parent)) throw errno("ENOENT", parent);
    mkdirSync(dir);
    const enabled = readFileSync(path.join(parent, "cgroup.subtree_control"), "utf8").trim();
    this.#put(dir, "cgroup.controllers", enabled);
    this.#put(dir, "cgroup.subtree_control", "");
    this.#put(dir, "cgroup.procs", "");
    this.#put(dir, "cgroup.events", "populated 0\nfrozen 0\n");
    this.#put(dir, "cgroup.freeze", "0");
    if (this.#kill) this.#put(dir, "cgroup.kill", "");
    this.#put(dir, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    for (const c of enabled.split(/\s+/).filter((c) => c !== "")) this.#controllerFiles(dir, c);
  }

  async rmdir(dir: string): Promise<void> {
    if (!existsSync(dir)) return;
    if (this.#children(dir).length > 0) throw errno("EBUSY", `${dir} has child cgroups`);
    if (this.#procs(dir).some(running)) throw errno("EBUSY", `${dir} has processes`);
    rmSync(dir, { recursive: true });
  }

  async subdirs(dir: string): Promise<string[]> {
    if (!existsSync(dir)) return [];
    return this.#children(dir).map((c) => path.basename(c));
  }

  async exists(file: string): Promise<boolean> {
    return existsSync(file);
  }
}
