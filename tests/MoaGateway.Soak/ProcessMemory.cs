using System.Globalization;

namespace MoaGateway.Soak;

internal readonly record struct ProcessMemory(double RssMb, double PeakRssMb)
{
    /// <summary>Resident and peak resident memory of a process, from Linux's /proc.</summary>
    public static ProcessMemory Read(int pid)
    {
        double Kilobytes(string key) => double.Parse(
            File.ReadLines($"/proc/{pid}/status").First(line => line.StartsWith(key, StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            CultureInfo.InvariantCulture);

        return new ProcessMemory(Kilobytes("VmRSS:") / 1024, Kilobytes("VmHWM:") / 1024);
    }
}
