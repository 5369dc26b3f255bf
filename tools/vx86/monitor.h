// `-monitor stdio`: reads monitor commands from a file descriptor without ever blocking the guest
// (poll between slices), runs them on the Session and prints their answers, QEMU HMP style.
#pragma once

#include <cstdio>
#include <string>

#include "monitor_command.h"
#include "session.h"

namespace vx86::cli {

class Monitor {
  public:
    Monitor(Session& session, int in_fd, std::FILE* out);

    // Runs the commands that are complete, after waiting up to `timeout_ms` for input when there
    // is none (0: just look, -1: until something arrives or a signal). While a `migrate` without
    // -d is in progress, no further command is read (as QEMU's monitor waits for it).
    void poll(int timeout_ms);
    // The input has ended and every command in it has run.
    bool closed() const { return m_eof && m_buf.empty(); }
    bool quit_requested() const { return m_quit; }
    // poll() would wait for input (not closed, not waiting for a migration).
    bool reading() const { return !m_eof && !m_quit && !waiting(); }

    // Runs one command and returns what it prints (exposed for tests).
    std::string execute(const MonitorCommand& c);

  private:
    bool waiting() const;
    void run_buffered();
    void prompt();

    Session& m_session;
    int m_fd;
    std::FILE* m_out;
    std::string m_buf;
    bool m_eof = false;
    bool m_quit = false;
    bool m_wait_migration = false;
    bool m_interactive = false;  // a terminal: greet and prompt like QEMU
};

// `info registers`: the vCPU's registers, one line per group.
std::string format_registers(Vcpu& vcpu);

}  // namespace vx86::cli
