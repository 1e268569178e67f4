# jupyter/logo.gp — the kernel's logos (jupyter/logo-32x32.png, logo-64x64.png): a navy disc
# (Lua's colour) with an orange flame-coloured "lt". Regenerate with
#   gnuplot -e "size=64" jupyter/logo.gp > jupyter/logo-64x64.png   (and size=32)
if (!exists("size")) size = 64
set terminal pngcairo transparent size size,size font sprintf("sans,%d", size * 0.42)
set output
unset border; unset tics; unset key
set margins 0,0,0,0
set size ratio -1
set xrange [-1:1]; set yrange [-1:1]
set object 1 circle at 0,0 size 0.97 fc rgb "#00007f" fs solid 1.0 noborder
set label 1 "{/:Bold lt}" at 0,0.04 center tc rgb "#ff8c1a" front
plot NaN notitle
